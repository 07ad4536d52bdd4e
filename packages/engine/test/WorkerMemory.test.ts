/**
 * Worker threads under memory limits, with real threads and tools that really allocate: a tool past its limit fails
 * its own job and its thread is replaced, a crashing thread fails its job saying why, a thread left with a big heap is
 * retired, and the limits reach the threads (per engine, per service).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type Job, JobStatus, JobStore } from "@geojobs/core"
import { Effect } from "effect"
import { Engine } from "../src/Engine.ts"
import * as WorkerLimits from "../src/WorkerLimits.ts"
import { engineLayer, service, task, tempDir } from "./support/Harness.ts"

const at = (name: string) => ({ folder: "Test", name })
const tasks = ["echo", "hog", "gate", "quitter", "crasher", "hoarder", "limits"].map((t) => task(t))
const Mem = service("Mem", {}, tasks)

const run = (svc: string, taskName: string, params: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const job = yield* engine.submit({ service: at(svc), task: taskName, user: "analyst", params })
    return yield* engine.awaitJob(job.id)
  })

const errors = (job: Job.Job) => job.messages.filter((m) => m.level === "error").map((m) => m.description)

const nothingLeftActive = Effect.gen(function* () {
  const store = yield* JobStore.JobStore
  const all = yield* store.query({})
  assert.deepStrictEqual(
    all.results.filter((j) => !JobStatus.isTerminal(j.status)).map((j) => `${j.task} ${j.status}`),
    []
  )
})

describe("WorkerLimits.resolve", () => {
  it("defaults to a 512 MB old generation, retired above half of it; a service's settings go over the engine's", () => {
    assert.deepStrictEqual(WorkerLimits.resolve(undefined), {
      maxOldGenerationSizeMb: 512,
      maxYoungGenerationSizeMb: undefined,
      stackSizeMb: undefined,
      retireAboveHeapMb: 256
    })
    const engine = { maxOldGenerationSizeMb: 1024, stackSizeMb: 8, retireAboveHeapMb: 300 }
    assert.deepStrictEqual(WorkerLimits.resolve(engine, {}), {
      ...WorkerLimits.resolve(engine),
      retireAboveHeapMb: 300
    })
    // A service with its own old generation gets half of it, not the engine's threshold for another size.
    assert.deepStrictEqual(WorkerLimits.resolve(engine, { maxOldGenerationSizeMb: 128 }), {
      maxOldGenerationSizeMb: 128,
      maxYoungGenerationSizeMb: undefined,
      stackSizeMb: 8,
      retireAboveHeapMb: 64
    })
  })
})

describe("Worker memory", () => {
  it.live(
    "a tool allocating past its thread's limit fails its job with the limit; the next job runs on a new thread",
    () =>
      Effect.gen(function* () {
        const hogged = yield* run("Mem", "hog")
        assert.strictEqual(hogged.status, "Failed")
        assert.include(errors(hogged), "The tool ran out of memory (limit 64 MB).")
        assert.deepStrictEqual(hogged.results, {})
        // One worker thread in all: this job can only run on the thread that replaced the dead one.
        const next = yield* run("Mem", "echo", { text: "after" })
        assert.strictEqual(next.status, "Succeeded")
        assert.deepStrictEqual(next.results, { out: { dataType: "GPString", value: "after" } })
        yield* nothingLeftActive
      }).pipe(
        Effect.provide(engineLayer(tempDir(), [Mem], { maxWorkers: 1, workerLimits: { maxOldGenerationSizeMb: 64 } }))
      )
  )

  it.live("a job running on another thread is unaffected when a thread runs out of memory", () => {
    const dataDir = tempDir()
    const file = join(dataDir, "open")
    return Effect.gen(function* () {
      const engine = yield* Engine
      const store = yield* JobStore.JobStore
      const waiting = yield* engine.submit({ service: at("Mem"), task: "gate", user: null, params: { file } })
      while ((yield* store.get(waiting.id)).status !== "Executing") yield* Effect.sleep(20)
      const hogged = yield* run("Mem", "hog")
      assert.strictEqual(hogged.status, "Failed")
      assert.include(errors(hogged), "The tool ran out of memory (limit 64 MB).")
      // The gate only opens now, so the other job was running all along on its own thread.
      assert.strictEqual((yield* store.get(waiting.id)).status, "Executing")
      writeFileSync(file, "")
      const opened = yield* engine.awaitJob(waiting.id)
      assert.strictEqual(opened.status, "Succeeded")
      assert.isTrue(opened.messages.some((m) => m.description === "gate opened"))
      yield* nothingLeftActive
    }).pipe(
      Effect.provide(engineLayer(dataDir, [Mem], { maxWorkers: 2, workerLimits: { maxOldGenerationSizeMb: 64 } }))
    )
  })

  it.live(
    "a tool that exits its thread, or throws where nobody catches, fails its job saying so; the thread is replaced",
    () =>
      Effect.gen(function* () {
        const quit = yield* run("Mem", "quitter")
        assert.strictEqual(quit.status, "Failed")
        assert.include(errors(quit), "The tool ended its worker thread (exit code 7).")
        const crashed = yield* run("Mem", "crasher")
        assert.strictEqual(crashed.status, "Failed")
        assert.include(errors(crashed), "The tool crashed its worker thread: boom in a timer")
        assert.strictEqual((yield* run("Mem", "echo", { text: "x" })).status, "Succeeded")
        yield* nothingLeftActive
      }).pipe(Effect.provide(engineLayer(tempDir(), [Mem], { maxWorkers: 1 })))
  )

  it.live(
    "a thread left with a heap above retireAboveHeapMb after a job is retired: the next job gets a fresh one",
    () =>
      Effect.gen(function* () {
        const first = yield* run("Mem", "hoarder", { mb: 100 })
        const second = yield* run("Mem", "hoarder", { mb: 100 })
        assert.strictEqual(first.status, "Succeeded")
        assert.strictEqual(second.status, "Succeeded")
        // Each job's hoard is the only one on its thread: the first thread and its 100 MB are gone.
        assert.strictEqual(first.results.hoarded?.value, 1)
        assert.strictEqual(second.results.hoarded?.value, 1)
        assert.notStrictEqual(second.results.threadId?.value, first.results.threadId?.value)
        assert.strictEqual((yield* run("Mem", "echo", { text: "x" })).status, "Succeeded")
      }).pipe(
        Effect.provide(
          engineLayer(tempDir(), [Mem], {
            maxWorkers: 1,
            workerLimits: { maxOldGenerationSizeMb: 512, retireAboveHeapMb: 64 }
          })
        )
      )
  )

  it.live("a thread whose heap stays below retireAboveHeapMb keeps running jobs (and what its tools keep)", () =>
    Effect.gen(function* () {
      const first = yield* run("Mem", "hoarder", { mb: 100 })
      const second = yield* run("Mem", "hoarder", { mb: 100 })
      assert.strictEqual(second.results.hoarded?.value, 2)
      assert.strictEqual(second.results.threadId?.value, first.results.threadId?.value)
    }).pipe(
      Effect.provide(
        engineLayer(tempDir(), [Mem], {
          maxWorkers: 1,
          workerLimits: { maxOldGenerationSizeMb: 512, retireAboveHeapMb: 400 }
        })
      )
    )
  )

  it.live("threads run under the engine's resourceLimits, and a service's own limits over them", () =>
    Effect.gen(function* () {
      const engineWide = yield* run("Mem", "limits")
      assert.strictEqual(engineWide.results.maxOldGenerationSizeMb?.value, 256)
      assert.strictEqual(engineWide.results.stackSizeMb?.value, 8)
      const small = yield* run("Small", "limits")
      assert.strictEqual(small.results.maxOldGenerationSizeMb?.value, 96)
      assert.strictEqual(small.results.stackSizeMb?.value, 8)
      const hogged = yield* run("Small", "hog")
      assert.include(errors(hogged), "The tool ran out of memory (limit 96 MB).")
      // V8 holds the old generation to the limit (plus the young generation).
      assert.isBelow(Number(small.results.heapSizeLimitMb?.value), Number(engineWide.results.heapSizeLimitMb?.value))
    }).pipe(
      Effect.provide(
        engineLayer(tempDir(), [Mem, service("Small", { workerLimits: { maxOldGenerationSizeMb: 96 } }, tasks)], {
          maxWorkers: 2,
          workerLimits: { maxOldGenerationSizeMb: 256, stackSizeMb: 8 }
        })
      )
    )
  )

  it.live("without settings a thread gets a 512 MB old generation", () =>
    Effect.gen(function* () {
      const job = yield* run("Mem", "limits")
      assert.strictEqual(job.results.maxOldGenerationSizeMb?.value, 512)
    }).pipe(Effect.provide(engineLayer(tempDir(), [Mem], { maxWorkers: 1 })))
  )
})
