import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { type Job, JobFiles, JobStore } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Effect } from "effect"
import { Engine } from "../src/Engine.ts"
import { engineLayer, service, task, tempDir } from "./support/Harness.ts"

const Test = { name: "Svc" }
const at = (name: string) => ({ folder: "Test", name })

/** Polls the store until `ok(job)` holds, or fails after `timeoutMs`. */
const waitFor = (id: string, ok: (job: Job.Job) => boolean, timeoutMs = 10_000) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const until = Date.now() + timeoutMs
    while (true) {
      const job = yield* store.get(id)
      if (ok(job)) return job
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out waiting; job is ${job.status}`))
      yield* Effect.sleep(20)
    }
  })

const submit = (svc: string, taskName: string, params: Record<string, unknown> = {}) =>
  Effect.flatMap(Engine, (e) => e.submit({ service: at(svc), task: taskName, user: "analyst", params }))

describe("Engine", () => {
  it.live("runs a job on a worker: Submitted → Executing → Succeeded, with results, messages, times and expiry", () =>
    Effect.gen(function* () {
      const job = yield* submit(Test.name, "echo", { text: "hello" })
      assert.strictEqual(job.status, "Submitted")
      const done = yield* Effect.flatMap(Engine, (e) => e.awaitJob(job.id))
      assert.strictEqual(done.status, "Succeeded")
      assert.deepStrictEqual(done.results, { out: { dataType: "GPString", value: "hello" } })
      assert.isNotNull(done.started)
      assert.isAtLeast(done.ended ?? 0, done.started ?? Infinity)
      assert.strictEqual(done.expires, (done.ended ?? 0) + 3_600_000)
      assert.match(done.messages[0]?.description ?? "", /^Start Time: /)
      assert.match(done.messages.at(-1)?.description ?? "", /^Succeeded at .*Elapsed Time/)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("a tool that throws fails its job with the tool's message", () =>
    Effect.gen(function* () {
      const job = yield* submit(Test.name, "broken")
      const done = yield* Effect.flatMap(Engine, (e) => e.awaitJob(job.id))
      assert.strictEqual(done.status, "Failed")
      assert.isTrue(done.messages.some((m) => m.level === "error" && m.description.includes("the tool broke")))
      assert.deepStrictEqual(done.results, {})
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("rejects an unknown service or task with a typed error, and stores nothing", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const store = yield* JobStore.JobStore
      const a = yield* Effect.flip(engine.submit({ service: at("Nope"), task: "echo", user: null, params: {} }))
      assert.strictEqual(a._tag, "NoSuchService")
      const b = yield* Effect.flip(engine.submit({ service: at(Test.name), task: "nope", user: null, params: {} }))
      assert.strictEqual(b._tag, "NoSuchTask")
      assert.strictEqual((yield* store.query({})).total, 0)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("maxExecutionTime ends a CPU-bound job in TimedOut with its worker terminated; the pool keeps working", () =>
    Effect.gen(function* () {
      const job = yield* submit("Slow", "stubborn", { ms: 60_000 })
      const started = Date.now()
      const done = yield* Effect.flatMap(Engine, (e) => e.awaitJob(job.id))
      assert.strictEqual(done.status, "TimedOut")
      assert.isBelow(Date.now() - started, 5_000)
      assert.isTrue(done.messages.some((m) => m.description.includes("maximum execution time of 1 seconds")))
      const after = yield* Effect.flatMap(Engine, (e) => e.awaitJob(job.id))
      assert.strictEqual(after.status, "TimedOut")
      const next = yield* submit("Slow", "echo", { text: "still alive" })
      assert.strictEqual((yield* Effect.flatMap(Engine, (e) => e.awaitJob(next.id))).status, "Succeeded")
    }).pipe(Effect.provide(engineLayer(tempDir(), [service("Slow", { maxExecutionTimeMs: 1000 })])))
  )

  it.live("the main thread stays responsive while a tool spins the CPU", () =>
    Effect.gen(function* () {
      const job = yield* submit(Test.name, "stubborn", { ms: 1500 })
      yield* waitFor(job.id, (j) => j.status === "Executing")
      const ticks = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            let n = 0
            const timer = setInterval(() => n++, 20)
            setTimeout(() => {
              clearInterval(timer)
              resolve(n)
            }, 800)
          })
      )
      // About 40 at 20 ms; a blocked main thread would manage one or two.
      assert.isAtLeast(ticks, 10, "timers kept firing while the worker was busy")
      assert.strictEqual((yield* Effect.flatMap(Engine, (e) => e.awaitJob(job.id))).status, "Succeeded")
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("cancelling a queued job cancels it at once", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const first = yield* submit("One", "nap", { ms: 3000 })
      const second = yield* submit("One", "echo", { text: "x" })
      yield* waitFor(first.id, (j) => j.status === "Executing")
      const cancelled = yield* engine.cancel(second.id)
      assert.strictEqual(cancelled.status, "Cancelled")
      assert.isNotNull(cancelled.expires)
      yield* engine.cancel(first.id)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service("One", { maxConcurrentJobs: 1 })])))
  )

  it.live("a cooperative tool sees its AbortSignal and is Cancelled without waiting for the grace period", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* submit(Test.name, "nap", { ms: 20_000 })
      yield* waitFor(job.id, (j) => j.status === "Executing")
      const asked = Date.now()
      const cancelling = yield* engine.cancel(job.id)
      assert.strictEqual(cancelling.status, "Cancelling")
      const done = yield* engine.awaitJob(job.id)
      assert.strictEqual(done.status, "Cancelled")
      // Ended by the tool's AbortSignal: long before the 60 s grace period (termination) or the 20 s nap. The
      // engine's own record of when the job ended, so the test's polling does not count; the margin is for loaded
      // machines (usually well under a second).
      assert.isBelow((done.ended ?? Number.POSITIVE_INFINITY) - asked, 10_000)
      const again = yield* Effect.flip(engine.cancel(job.id))
      assert.strictEqual(again._tag, "InvalidTransition")
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)], { cancelGraceMs: 60_000 })))
  )

  it.live("what a tool logs while it is being cancelled is kept in the Cancelled job's messages, in order", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* submit("Tidy", "tidy", { tidyMs: 600 })
      yield* waitFor(job.id, (j) => j.messages.some((m) => m.description === "working on it"))
      yield* engine.cancel(job.id)
      const done = yield* engine.awaitJob(job.id)
      assert.strictEqual(done.status, "Cancelled")
      // Flushes ran while it was Cancelling (every 50 ms for 600 ms); the messages they took are the job's all the same.
      const logged = done.messages.map((m) => m.description)
      const tidying = logged.indexOf("cancelled: removing the partial output")
      assert.isAbove(tidying, logged.indexOf("working on it"))
      assert.strictEqual(logged[tidying + 1], "partial output removed")
      assert.strictEqual(done.messages[tidying]?.level, "warning")
    }).pipe(
      Effect.provide(
        engineLayer(tempDir(), [service("Tidy", {}, [task("tidy")])], { cancelGraceMs: 10_000, progressIntervalMs: 50 })
      )
    )
  )

  it.live("a tool that ignores cancel shows Cancelling, then is terminated after the grace period: Cancelled", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* submit(Test.name, "stubborn", { ms: 60_000 })
      yield* waitFor(job.id, (j) => j.status === "Executing")
      yield* engine.cancel(job.id)
      yield* Effect.sleep(300)
      const meanwhile = yield* Effect.flatMap(JobStore.JobStore, (s) => s.get(job.id))
      assert.strictEqual(meanwhile.status, "Cancelling")
      const done = yield* engine.awaitJob(job.id)
      assert.strictEqual(done.status, "Cancelled")
      assert.isTrue((done.ended ?? 0) - (meanwhile.started ?? 0) < 10_000)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)], { cancelGraceMs: 800 })))
  )

  it.live("progress is readable while the job runs and writes are throttled, the last update always kept", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* submit(Test.name, "nap", { ms: 1200 })
      const running = yield* waitFor(job.id, (j) => j.progress?.type === "step" && j.progress.percent > 0)
      assert.strictEqual(running.status, "Executing")
      assert.match(running.progress?.message ?? "", /slept \d+ ms/)
      yield* engine.awaitJob(job.id)

      const chatty = yield* submit(Test.name, "chatty", { ms: 600 })
      const seen: Array<number> = []
      while (true) {
        const j = yield* Effect.flatMap(JobStore.JobStore, (s) => s.get(chatty.id))
        if (j.status !== "Executing") break
        if (seen.at(-1) !== j.revision) seen.push(j.revision)
        if (j.progress?.message === "last update")
          assert.strictEqual(j.progress.type === "step" && j.progress.percent, 99)
        yield* Effect.sleep(5)
      }
      const done = yield* engine.awaitJob(chatty.id)
      const updates = Number((done.results.updates?.value as number) ?? 0)
      assert.isAbove(updates, 500, "the tool sent hundreds of updates")
      // ~600 ms at one write per 100 ms (the test's interval) is about 7 writes; never one per update.
      assert.isBelow(done.revision, 20, `revisions: ${done.revision}`)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("never runs more than a service's maxConcurrentJobs at once; FIFO within the service", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const store = yield* JobStore.JobStore
      const jobs = []
      for (let i = 0; i < 4; i++) jobs.push(yield* submit("One", "nap", { ms: 300 }))
      let most = 0
      const order: Array<string> = []
      while (true) {
        const page = yield* store.query({ service: at("One"), statuses: ["Executing"] })
        most = Math.max(most, page.total)
        for (const j of page.results) if (!order.includes(j.id)) order.push(j.id)
        const left = yield* store.query({ service: at("One"), statuses: ["Submitted", "Executing"] })
        if (left.total === 0) break
        yield* Effect.sleep(10)
      }
      assert.strictEqual(most, 1)
      assert.deepStrictEqual(
        order,
        jobs.map((j) => j.id)
      )
      for (const j of jobs) assert.strictEqual((yield* engine.awaitJob(j.id)).status, "Succeeded")
    }).pipe(Effect.provide(engineLayer(tempDir(), [service("One", { maxConcurrentJobs: 1 })])))
  )

  it.live("output files go under <dataDir>/jobs/<jobId>/; the sweeper removes expired jobs and their files", () => {
    const dataDir = tempDir()
    return Effect.gen(function* () {
      const engine = yield* Engine
      const job = yield* submit("Brief", "writer")
      const done = yield* engine.awaitJob(job.id)
      assert.strictEqual(done.status, "Succeeded")
      const file = join(dataDir, "jobs", job.id, "result.txt")
      assert.strictEqual(readFileSync(file, "utf8"), `job ${job.id}\n`)
      const files = yield* JobFiles.JobFiles
      assert.strictEqual(files.folder(job.id), join(dataDir, "jobs", job.id))
      yield* Effect.sleep(300)
      assert.strictEqual(yield* engine.sweep, 1)
      assert.isFalse(existsSync(join(dataDir, "jobs", job.id)))
      const gone = yield* Effect.flip(Effect.flatMap(JobStore.JobStore, (s) => s.get(job.id)))
      assert.strictEqual(gone._tag, "NoSuchJob")
    }).pipe(Effect.provide(engineLayer(dataDir, [service("Brief", { jobRetentionMs: 200 })])))
  })

  it.live("delete removes a finished job and stops and removes a running one", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const store = yield* JobStore.JobStore
      const a = yield* submit(Test.name, "echo", { text: "a" })
      yield* engine.awaitJob(a.id)
      yield* engine.delete(a.id)
      assert.strictEqual((yield* Effect.flip(store.get(a.id)))._tag, "NoSuchJob")
      const b = yield* submit(Test.name, "nap", { ms: 20_000 })
      yield* waitFor(b.id, (j) => j.status === "Executing")
      yield* engine.delete(b.id)
      const until = Date.now() + 3000
      while ((yield* Effect.result(store.get(b.id)))._tag === "Success" && Date.now() < until) yield* Effect.sleep(20)
      assert.strictEqual((yield* Effect.flip(store.get(b.id)))._tag, "NoSuchJob")
      assert.strictEqual((yield* Effect.flip(engine.delete(b.id)))._tag, "NoSuchJob")
    }).pipe(Effect.provide(engineLayer(tempDir(), [service(Test.name)])))
  )

  it.live("purgeQueue cancels every queued job of a service", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const running = yield* submit("One", "nap", { ms: 5000 })
      yield* waitFor(running.id, (j) => j.status === "Executing")
      for (let i = 0; i < 3; i++) yield* submit("One", "echo", { text: String(i) })
      assert.strictEqual(yield* engine.purgeQueue(at("One")), 3)
      const page = yield* Effect.flatMap(JobStore.JobStore, (s) => s.query({ statuses: ["Cancelled"] }))
      assert.strictEqual(page.total, 3)
      yield* engine.cancel(running.id)
    }).pipe(Effect.provide(engineLayer(tempDir(), [service("One", { maxConcurrentJobs: 1 })])))
  )

  it.live("shutdown lets running jobs finish until its deadline, then marks the rest interrupted", () => {
    const dataDir = tempDir()
    const services = [service(Test.name, {}, [task("nap"), task("stubborn"), task("echo", true)])]
    return Effect.gen(function* () {
      const ids = yield* Effect.scoped(
        Effect.gen(function* () {
          // The tool thread started first: a job is Executing from its claim, before a cold thread runs it, and on a
          // loaded machine (the whole suite on two cores) a start took longer than the grace below.
          const warm = yield* submit(Test.name, "nap", { ms: 1 })
          yield* waitFor(warm.id, (j) => j.status === "Succeeded", 60_000)
          const quick = yield* submit(Test.name, "nap", { ms: 200 })
          const slow = yield* submit(Test.name, "stubborn", { ms: 60_000 })
          yield* waitFor(slow.id, (j) => j.status === "Executing")
          yield* waitFor(quick.id, (j) => j.status === "Executing")
          return { quick: quick.id, slow: slow.id }
        }).pipe(Effect.provide(engineLayer(dataDir, services, { shutdownGraceMs: 2500 })))
      )
      const store = yield* JobStore.JobStore
      assert.strictEqual((yield* store.get(ids.quick)).status, "Succeeded")
      const slow = yield* store.get(ids.slow)
      assert.strictEqual(slow.status, "Failed")
      assert.isTrue(slow.messages.some((m) => m.description === "Interrupted by server shutdown."))
    }).pipe(Effect.provide(SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") })))
  })
})
