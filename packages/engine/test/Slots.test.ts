import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type Job, JobStore } from "@geojobs/core"
import { Effect } from "effect"
import { Engine } from "../src/Engine.ts"
import { engineLayer, service, task, tempDir } from "./support/Harness.ts"

const at = (name: string) => ({ folder: "Test", name })
const submit = (svc: string, taskName: string, params: Record<string, unknown> = {}) =>
  Effect.flatMap(Engine, (e) => e.submit({ service: at(svc), task: taskName, user: "analyst", params }))

/** The statuses of `ids` once `ok` holds of them (polled), or a defect after 10 s. */
const statusesWhen = (ids: ReadonlyArray<string>, ok: (statuses: ReadonlyArray<Job.Job["status"]>) => boolean) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const until = Date.now() + 10_000
    while (true) {
      const statuses = yield* Effect.forEach(ids, (id) => Effect.map(store.getSummary(id), (j) => j.status))
      if (ok(statuses)) return statuses
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out; statuses ${statuses.join(", ")}`))
      yield* Effect.sleep(20)
    }
  })
const count = (statuses: ReadonlyArray<string>, status: string) => statuses.filter((s) => s === status).length

// One worker thread for CPU-bound tools, eight slots: I/O-bound jobs may run eight at once, CPU-bound ones one.
const io = service("Io", { maxConcurrentJobs: 6 }, [task("threadGate", false, "io"), task("deafGate", false, "io")])
const cpu = service("Cpu", { maxConcurrentJobs: 6 }, [task("threadGate", false, "cpu")])
const narrow = service("Narrow", { maxConcurrentJobs: 3 }, [task("threadGate", false, "io")])
const options = { maxWorkers: 1, slots: 8, cancelGraceMs: 200 }

describe("slots: I/O-bound jobs share threads, CPU-bound ones get a thread each", () => {
  it.live("six I/O-bound jobs run at once on one shared thread, past the one CPU worker thread", () =>
    Effect.gen(function* () {
      const file = join(tempDir(), "open")
      const ids = yield* Effect.forEach(Array.from({ length: 6 }), () =>
        Effect.map(submit("Io", "threadGate", { file }), (j) => j.id)
      )
      // All six Executing together: only possible if they share threads (there is one CPU thread).
      yield* statusesWhen(ids, (s) => count(s, "Executing") === 6)
      writeFileSync(file, "")
      const done = yield* Effect.forEach(ids, (id) => Effect.flatMap(Engine, (e) => e.awaitJob(id)))
      assert.deepStrictEqual(
        done.map((j) => j.status),
        Array(6).fill("Succeeded")
      )
      assert.strictEqual(new Set(done.map((j) => j.results.thread?.value)).size, 1, "one thread ran them all")
    }).pipe(Effect.provide(engineLayer(tempDir(), [io], options)))
  )

  it.live("CPU-bound jobs are held to the worker threads: one at a time here, the others wait Submitted", () =>
    Effect.gen(function* () {
      const file = join(tempDir(), "open")
      const ids = yield* Effect.forEach(Array.from({ length: 4 }), () =>
        Effect.map(submit("Cpu", "threadGate", { file }), (j) => j.id)
      )
      const first = yield* statusesWhen(ids, (s) => count(s, "Executing") === 1)
      // Given time to claim more, it does not.
      yield* Effect.sleep(300)
      const later = yield* statusesWhen(ids, () => true)
      assert.strictEqual(count(first, "Submitted"), 3)
      assert.strictEqual(count(later, "Executing"), 1)
      assert.strictEqual(count(later, "Submitted"), 3)
      writeFileSync(file, "")
      const done = yield* Effect.forEach(ids, (id) => Effect.flatMap(Engine, (e) => e.awaitJob(id)))
      assert.deepStrictEqual(
        done.map((j) => j.status),
        Array(4).fill("Succeeded")
      )
    }).pipe(Effect.provide(engineLayer(tempDir(), [cpu], options)))
  )

  it.live("a service's maxConcurrentJobs still holds for I/O-bound jobs below the slots", () =>
    Effect.gen(function* () {
      const file = join(tempDir(), "open")
      const ids = yield* Effect.forEach(Array.from({ length: 5 }), () =>
        Effect.map(submit("Narrow", "threadGate", { file }), (j) => j.id)
      )
      yield* statusesWhen(ids, (s) => count(s, "Executing") === 3)
      yield* Effect.sleep(300)
      const later = yield* statusesWhen(ids, () => true)
      assert.strictEqual(count(later, "Executing"), 3)
      assert.strictEqual(count(later, "Submitted"), 2)
      writeFileSync(file, "")
      yield* Effect.forEach(ids, (id) => Effect.flatMap(Engine, (e) => e.awaitJob(id)))
    }).pipe(Effect.provide(engineLayer(tempDir(), [narrow], options)))
  )

  it.live(
    "an I/O-bound tool that ignores a cancel is let go after the grace period; its thread's other jobs go on",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const deafFile = join(dir, "deaf")
        const siblingFile = join(dir, "sibling")
        const deaf = yield* submit("Io", "deafGate", { file: deafFile })
        const sibling = yield* submit("Io", "threadGate", { file: siblingFile })
        yield* statusesWhen([deaf.id, sibling.id], (s) => count(s, "Executing") === 2)
        const engine = yield* Engine
        yield* engine.cancel(deaf.id)
        const cancelled = yield* engine.awaitJob(deaf.id)
        assert.strictEqual(cancelled.status, "Cancelled")
        // The shared thread was not terminated: the sibling is still running, and finishes when let.
        const [still] = yield* statusesWhen([sibling.id], () => true)
        assert.strictEqual(still, "Executing")
        writeFileSync(siblingFile, "")
        const done = yield* engine.awaitJob(sibling.id)
        assert.strictEqual(done.status, "Succeeded")
        writeFileSync(deafFile, "")
      }).pipe(Effect.provide(engineLayer(tempDir(), [io], options)))
  )
})
