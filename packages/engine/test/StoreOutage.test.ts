/**
 * A store that cannot be reached for a moment (PostgreSQL restarting, a network split) while jobs run: nothing of a
 * run is lost and no job is stranded. The store is the real SQLite one with its queue wrapped so that one operation
 * fails as a broken connection makes it fail — a progress flush that waits and then fails while the tool ends, a
 * flush and a claim that the store applies but whose answers never come.
 */
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Entropy, type Job, JobError, JobQueue, JobStore } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Context, Effect, Layer } from "effect"
import { Engine } from "../src/Engine.ts"
import { ServiceRegistry } from "../src/ServiceRegistry.ts"
import { service, task, tempDir } from "./support/Harness.ts"

const connectionLost = (operation: string) => new JobError.JobStoreError({ operation, cause: "connection lost" })

/** A real engine on SQLite whose queue is `wrap`ped, running the `nap` test tool. */
const engineWith = (wrap: (queue: JobQueue.JobQueueShape) => JobQueue.JobQueueShape) =>
  Effect.gen(function* () {
    const dataDir = tempDir()
    const flaky = Layer.effect(
      JobQueue.JobQueue,
      Effect.gen(function* () {
        return wrap(yield* JobQueue.JobQueue)
      })
    )
    const storage = SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") })
    const services = [service("Outage", {}, [task("nap")])]
    const layer = Engine.layer({ dataDir, maxWorkers: 1, progressIntervalMs: 50, pollIntervalMs: 50 }).pipe(
      Layer.provideMerge(Layer.mergeAll(Layer.provideMerge(flaky, storage), ServiceRegistry.layer(services))),
      Layer.provideMerge(Entropy.Entropy.layer)
    )
    const context = yield* Layer.build(layer)
    const store = Context.get(context, JobStore.JobStore)
    const nap = (ms: number) =>
      Context.get(context, Engine).submit({
        service: { folder: "Test", name: "Outage" },
        task: "nap",
        user: null,
        params: { ms: String(ms) }
      })
    /** The job once it left `Submitted` and `Executing`, or as it is after ~5 s. */
    const settled = (id: string) =>
      Effect.gen(function* () {
        let job = yield* store.get(id)
        for (let i = 0; i < 200 && (job.status === "Submitted" || job.status === "Executing"); i++) {
          yield* Effect.sleep(25)
          job = yield* store.get(id)
        }
        return job
      })
    return { nap, settled }
  })

const texts = (job: Job.Job) => job.messages.map((m) => m.description)

/**
 * The queue with the first progress write of a run (the job still Executing) made by `first` from the real write;
 * `flushes()` counts the progress writes asked for.
 */
type ClaimedWrite = ReturnType<JobQueue.JobQueueShape["updateClaimed"]>
const firstFlush = (first: (write: ClaimedWrite) => ClaimedWrite) => {
  let flushes = 0
  return {
    flushes: () => flushes,
    wrap: (queue: JobQueue.JobQueueShape): JobQueue.JobQueueShape => ({
      ...queue,
      updateClaimed: (claim, revision, next) =>
        next.status === "Executing" && flushes++ === 0
          ? first(queue.updateClaimed(claim, revision, next))
          : queue.updateClaimed(claim, revision, next)
    })
  }
}

/** The run's start message and the tool's last message are each in the job once. */
const assertEachOnce = (job: Job.Job) => {
  const all = texts(job)
  assert.strictEqual(all.filter((t) => t.startsWith("Start Time:")).length, 1, all.join(" | "))
  assert.strictEqual(all.filter((t) => t === "woke up").length, 1, all.join(" | "))
}

describe("a store that fails for a moment under running jobs", () => {
  it.live("a flush that fails while the run ends loses no message: the end is written after it, with them", () =>
    Effect.gen(function* () {
      // The first progress write of the run waits 600 ms, past the tool's end, then fails without being made.
      const queue = firstFlush(() => Effect.andThen(Effect.sleep(600), Effect.fail(connectionLost("update claimed"))))
      const { nap, settled } = yield* engineWith(queue.wrap)
      const done = yield* settled((yield* nap(250)).id)
      assert.strictEqual(done.status, "Succeeded")
      assert.isAbove(queue.flushes(), 0, "the run's progress was flushed (and the first flush refused)")
      assertEachOnce(done)
      assert.match(texts(done).at(-1) ?? "", /^Succeeded at /)
    }).pipe(Effect.scoped)
  )

  it.live("a write the store applied but whose answer was lost: its messages are not written again", () =>
    Effect.gen(function* () {
      // The first progress write of the run is made, and then fails as if the connection broke before its answer.
      const queue = firstFlush((write) => Effect.andThen(write, Effect.fail(connectionLost("update claimed"))))
      const { nap, settled } = yield* engineWith(queue.wrap)
      const done = yield* settled((yield* nap(400)).id)
      assert.strictEqual(done.status, "Succeeded")
      assert.isAbove(queue.flushes(), 1, "the run's progress was flushed again after the lost answer")
      assertEachOnce(done)
    }).pipe(Effect.scoped)
  )

  it.live("a claim that committed but whose answer was lost: its job is run here, once, not left Executing", () =>
    Effect.gen(function* () {
      let lost: ReadonlyArray<string> = []
      // The first claim that takes a job commits, and then fails as if the connection broke before its answer.
      const { nap, settled } = yield* engineWith((queue) => ({
        ...queue,
        claim: (request) =>
          Effect.flatMap(queue.claim(request), (claimed) => {
            if (claimed.length === 0 || lost.length > 0) return Effect.succeed(claimed)
            lost = claimed.map((c) => c.job.id)
            return Effect.fail(connectionLost("claim"))
          })
      }))
      const first = yield* nap(100)
      const done = yield* settled(first.id)
      assert.deepStrictEqual(lost, [first.id], "the job's claim committed and its answer was lost")
      assert.strictEqual(done.status, "Succeeded", texts(done).join(" | "))
      assert.strictEqual(texts(done).filter((t) => t === "woke up").length, 1, "the tool ran once")
      // The engine goes on claiming afterwards.
      const second = yield* settled((yield* nap(10)).id)
      assert.strictEqual(second.status, "Succeeded")
    }).pipe(Effect.scoped)
  )
})
