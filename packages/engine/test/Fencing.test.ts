import { writeFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { type Job, JobStore } from "@geojobs/core"
import { Context, Effect, Layer } from "effect"
import { Engine, leaseSettings } from "../src/Engine.ts"
import { engineLayer, service, task, tempDir } from "./support/Harness.ts"
import { fencedFiles } from "./support/TestTools.ts"

const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, timeoutMs = 8_000) =>
  Effect.gen(function* () {
    const until = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out: ${what}`))
      yield* Effect.sleep(20)
    }
  })

describe("leases and fencing in the engine", () => {
  it.live(
    "a run whose job another node took over writes nothing more, and its tool is stopped (the fencing token)",
    () =>
      Effect.gen(function* () {
        const dataDir = tempDir()
        const { log, gate, lines } = fencedFiles(dataDir)
        const services = [service("Fence", { maxConcurrentJobs: 1 }, [task("fenced")])]
        // node-a holds its lease by its own clock (a heartbeat every 4 s, a 10 s lease) ...
        const a = yield* Layer.build(
          engineLayer(dataDir, services, { heartbeatMs: 4_000, leaseMs: 10_000, nodeName: "node-a" })
        )
        const store = Context.get(a, JobStore.JobStore)
        const job = yield* Context.get(a, Engine).submit({
          service: { folder: "Test", name: "Fence" },
          task: "fenced",
          user: null,
          params: { log, gate }
        })
        yield* waitUntil(
          Effect.map(store.get(job.id), (j) => j.status === "Executing" && j.progress !== null),
          "the job executing on node-a, with progress"
        )
        const whoA = lines().find(([w, id]) => w === "start" && id === job.id)?.[2]
        // ... but node-b judges it by a far shorter one (as a network split or a skewed clock would have it): to node-b,
        // node-a stopped responding, and it takes the job over while node-a's tool still runs.
        yield* Layer.build(engineLayer(dataDir, services, { heartbeatMs: 50, leaseMs: 200, nodeName: "node-b" }))
        yield* waitUntil(
          Effect.map(store.get(job.id), (j) => j.status === "Failed"),
          "the job failed by node-b's takeover"
        )
        const failed: Job.Job = yield* store.get(job.id)
        assert.strictEqual(failed.messages.at(-1)?.description, "interrupted: node node-a stopped responding")
        // node-a's next write is refused: it stops its tool and writes nothing more.
        yield* waitUntil(
          Effect.sync(() => lines().some(([w, id, who]) => w === "abort" && id === job.id && who === whoA)),
          "node-a's tool stopped"
        )
        writeFileSync(gate, "")
        yield* waitUntil(
          Effect.sync(() => Context.get(a, Engine).runningHere() === 0),
          "node-a's run over"
        )
        assert.deepStrictEqual(yield* store.get(job.id), failed, "node-a wrote over the takeover")
        assert.isFalse(
          lines().some(([w]) => w === "end"),
          "the tool ran to its end"
        )
        assert.strictEqual(lines().filter(([w]) => w === "start").length, 1, "one run, never another")
      }).pipe(Effect.scoped),
    20_000
  )

  it.effect("the heartbeat must be less than half the lease; the defaults are 2 s and 10 s", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* leaseSettings({}), { heartbeatMs: 2_000, leaseMs: 10_000 })
      assert.deepStrictEqual(yield* leaseSettings({ heartbeatMs: 200, leaseMs: 1_000 }), {
        heartbeatMs: 200,
        leaseMs: 1_000
      })
      const slow = yield* Effect.flip(leaseSettings({ heartbeatMs: 5_000, leaseMs: 10_000 }))
      assert.strictEqual(slow._tag, "InvalidEngineOptions")
      assert.include(slow.message, "less than half")
      const zero = yield* Effect.flip(leaseSettings({ leaseMs: 0 }))
      assert.strictEqual(zero._tag, "InvalidEngineOptions")
    })
  )

  it.live("an engine with a heartbeat too slow for its lease does not start", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(engineLayer(tempDir(), [service("Svc")], { heartbeatMs: 3_000, leaseMs: 4_000 }))
      )
      assert.strictEqual(error._tag, "InvalidEngineOptions")
    }).pipe(Effect.scoped)
  )
})
