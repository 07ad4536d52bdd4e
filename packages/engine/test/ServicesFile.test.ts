import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Entropy, JobStore } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Effect, Layer } from "effect"
import { Engine } from "../src/Engine.ts"
import { ServiceRegistry } from "../src/ServiceRegistry.ts"
import { tempDir } from "./support/Harness.ts"

const dataDir = tempDir()
const servicesFile = join(dataDir, "services.yaml")
writeFileSync(
  servicesFile,
  `services:
  - folder: System
    name: Utilities
    maxAttempts: 6
    tasks:
      - tool: Echo
      - tool: Sleep
  - name: Text
    tasks:
      - module: ${new URL("./support/UserTools.ts", import.meta.url).pathname}
        export: wordCount
`
)

const layer = Engine.layer({ dataDir, maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50 }).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") }),
      ServiceRegistry.layerFile(servicesFile),
      Entropy.Entropy.layer
    )
  )
)

const run = (service: { folder?: string; name: string }, task: string, params: Record<string, unknown>) =>
  Effect.flatMap(Engine, (engine) =>
    Effect.flatMap(engine.submit({ service, task, user: "analyst", params }), (job) => engine.awaitJob(job.id))
  )

describe("the engine running tools published by a services file", () => {
  it.effect("a service's maxAttempts comes from the file; a service without one gets the default", () =>
    Effect.gen(function* () {
      const registry = yield* ServiceRegistry
      assert.strictEqual(registry.find({ folder: "System", name: "Utilities" })?.maxAttempts, 6)
      assert.isUndefined(registry.find({ name: "Text" })?.maxAttempts)
    }).pipe(Effect.provide(ServiceRegistry.layerFile(servicesFile)))
  )

  it.live("Echo: a string in, the same string out, typed as its output parameter", () =>
    Effect.gen(function* () {
      const done = yield* run({ folder: "System", name: "Utilities" }, "Echo", {
        input_string: "Grüße, 世界",
        f: "json"
      })
      assert.strictEqual(done.status, "Succeeded")
      assert.deepStrictEqual(done.inputs, { input_string: { dataType: "GPString", value: "Grüße, 世界" } })
      assert.deepStrictEqual(done.results, { output_string: { dataType: "GPString", value: "Grüße, 世界" } })
    }).pipe(Effect.provide(layer))
  )

  it.live("Sleep reports progress while it runs", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* engine.submit({
        service: { folder: "System", name: "Utilities" },
        task: "Sleep",
        user: null,
        params: { seconds: "1.5" }
      })
      let sawProgress = false
      while (true) {
        const now = yield* Effect.flatMap(JobStore.JobStore, (s) => s.get(job.id))
        if (now.progress?.type === "step" && now.progress.message.startsWith("Slept")) sawProgress = true
        if (now.status === "Succeeded") break
        yield* Effect.sleep(50)
      }
      assert.isTrue(sawProgress)
    }).pipe(Effect.provide(layer))
  )

  it.live("a bad value is refused at submit, naming the parameter; no job is stored", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const before = (yield* Effect.flatMap(JobStore.JobStore, (s) => s.query({}))).total
      const error = yield* Effect.flip(
        engine.submit({
          service: { folder: "System", name: "Utilities" },
          task: "Sleep",
          user: null,
          params: { seconds: "soon" }
        })
      )
      assert.strictEqual(error._tag, "InvalidParameter")
      assert.include(error.message, "seconds")
      const missing = yield* Effect.flip(
        engine.submit({ service: { folder: "System", name: "Utilities" }, task: "Echo", user: null, params: {} })
      )
      assert.include(missing.message, "input_string is required")
      assert.strictEqual((yield* Effect.flatMap(JobStore.JobStore, (s) => s.query({}))).total, before)
    }).pipe(Effect.provide(layer))
  )

  it.live("a user's tool module, loaded from its path, runs in a worker thread", () =>
    Effect.gen(function* () {
      const done = yield* run({ name: "Text" }, "WordCount", { text: "one two  three" })
      assert.strictEqual(done.status, "Succeeded")
      assert.deepStrictEqual(done.results, { words: { dataType: "GPLong", value: 3 } })
      assert.isTrue(done.messages.some((m) => m.description === `counting in ${done.id}`))
    }).pipe(Effect.provide(layer))
  )
})
