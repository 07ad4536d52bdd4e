/**
 * A store that cannot be reached for a moment (PostgreSQL restarting, say) while a job runs: no message of the run is
 * lost. The store here is the real SQLite one with its queue wrapped so that one write of the run — the first flush of
 * its progress — waits and then fails as a broken connection does, while the tool ends in the meantime.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Entropy, type Job, JobError, JobQueue, JobStore } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Context, Effect, Layer } from "effect"
import { Engine } from "../src/Engine.ts"
import { ServiceRegistry } from "../src/ServiceRegistry.ts"
import { service, task, tempDir } from "./support/Harness.ts"

describe("a store write that fails while a run ends", () => {
  it.live("keeps every message: the run's end is written after the failed flush, with what it could not write", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      let flushes = 0
      // The first progress write of the run (the job still Executing) waits 600 ms, past the tool's end, then fails.
      const flaky = Layer.effect(
        JobQueue.JobQueue,
        Effect.gen(function* () {
          const queue = yield* JobQueue.JobQueue
          return {
            ...queue,
            updateClaimed: (claim: JobQueue.Claim, revision: number, next: Job.Job) =>
              next.status === "Executing" && flushes++ === 0
                ? Effect.andThen(
                    Effect.sleep(600),
                    Effect.fail(new JobError.JobStoreError({ operation: "update claimed", cause: "connection lost" }))
                  )
                : queue.updateClaimed(claim, revision, next)
          }
        })
      )
      const storage = SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") })
      const services = [service("Outage", {}, [task("nap")])]
      const layer = Engine.layer({ dataDir, maxWorkers: 1, progressIntervalMs: 50, pollIntervalMs: 50 }).pipe(
        Layer.provideMerge(Layer.mergeAll(Layer.provideMerge(flaky, storage), ServiceRegistry.layer(services))),
        Layer.provideMerge(Entropy.Entropy.layer)
      )
      const context = yield* Layer.build(layer)
      const engine = Context.get(context, Engine)
      const store = Context.get(context, JobStore.JobStore)
      const job = yield* engine.submit({
        service: { folder: "Test", name: "Outage" },
        task: "nap",
        user: null,
        params: { ms: "250" }
      })
      let done = yield* store.get(job.id)
      for (let i = 0; i < 200 && done.status !== "Succeeded"; i++) {
        yield* Effect.sleep(25)
        done = yield* store.get(job.id)
      }
      assert.strictEqual(done.status, "Succeeded")
      assert.isAbove(flushes, 0, "the run's progress was flushed (and the first flush refused)")
      const texts = done.messages.map((m) => m.description)
      assert.strictEqual(texts.filter((t) => t.startsWith("Start Time:")).length, 1, texts.join(" | "))
      assert.strictEqual(texts.filter((t) => t === "woke up").length, 1, texts.join(" | "))
      assert.match(texts.at(-1) ?? "", /^Succeeded at /)
    }).pipe(Effect.scoped)
  )
})
