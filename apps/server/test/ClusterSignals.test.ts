/**
 * Wake-ups and cancels across nodes on one PostgreSQL schema, through LISTEN/NOTIFY: two engines, each with its own
 * storage (pools and listening connection), one an `api` node that claims nothing, both polling only every minute —
 * so a job that starts, or a tool that sees its cancel, within the test did so because a signal reached its node.
 * Skipped when PostgreSQL cannot be reached, unless `GEOJOBS_REQUIRE_PG=1`, which makes that a failure.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Entropy, type Job, JobQueue, JobStatus, JobStore, ServiceRef } from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { PgStorage } from "@geojobs/store-postgres"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Context, Effect, Layer } from "effect"
import * as Storage from "../src/Storage.ts"

/** Both nodes' poll intervals: far longer than any wait below, so nothing here is found by polling. */
const slowPollMs = 60_000
/** What the test calls "at once": well under the slow poll (no tight timing: a loaded CI machine passes). */
const promptMs = 2_000
const cancelGraceMs = 1_000

const root = mkdtempSync(join(tmpdir(), "geojobs-signals-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const ref: ServiceRef.ServiceRef = {
  folder: "Test",
  name: "Signals",
  type: "GPServer",
  serviceId: ServiceRef.deriveServiceId("Test", "Signals")
}
const toolsUrl = new URL("./support/SignalTools.ts", import.meta.url).href
const service: ServiceRegistry.ServiceDefinition = {
  ref,
  description: "signals",
  executionType: "async",
  maxConcurrentJobs: 4,
  maxExecutionTimeMs: 120_000,
  jobRetentionMs: 3_600_000,
  access: "public",
  tasks: new Map(
    ["waiter", "stubborn"].map((name) => [
      name,
      {
        name,
        moduleUrl: toolsUrl,
        exportName: name,
        retryable: false,
        decodeInputs: (raw: Readonly<Record<string, unknown>>) =>
          Effect.succeed(
            Object.fromEntries(
              Object.entries(raw).map(([k, value]) => [k, { dataType: "GPString", value } satisfies Job.JobValue])
            )
          )
      }
    ])
  )
}

/** A node: an engine over its own PostgreSQL storage on `schema`; an `api` node claims nothing. */
const nodeLayer = (schema: string, name: string, role: "api" | "all") => {
  const storage = PgStorage.layer({
    connectionString: TestDatabase.url,
    schema,
    max: 4,
    pool: { application_name: `geojobs ${name}` }
  })
  const engine = Engine.Engine.layer({
    dataDir: mkdtempSync(join(root, `${name}-`)),
    maxWorkers: 1,
    nodeName: name,
    pollIntervalMs: slowPollMs,
    signalledPollIntervalMs: slowPollMs,
    // The runner's own look at a running job's stored state is this slow too: a cancel can only come by signal.
    progressIntervalMs: slowPollMs,
    cancelGraceMs,
    shutdownGraceMs: 500
  })
  return engine.pipe(
    role === "api" ? Layer.provide(Storage.claimingNothing) : (layer) => layer,
    Layer.provideMerge(Layer.mergeAll(storage, ServiceRegistry.ServiceRegistry.layer([service]), Entropy.Entropy.layer))
  )
}

/** An api node and a worker node on a fresh schema, and a log file for the tools. */
const cluster = Effect.gen(function* () {
  const schema = yield* TestDatabase.freshSchema
  const tag = schema.slice(-6)
  const api = yield* Layer.build(nodeLayer(schema, `api-${tag}`, "api"))
  const worker = yield* Layer.build(nodeLayer(schema, `worker-${tag}`, "all"))
  const log = join(root, `${schema}.log`)
  writeFileSync(log, "")
  const lines = () =>
    readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [what, jobId, at] = l.split(" ")
        return { what, jobId, at: Number(at) }
      })
  const logged = (what: string, jobId: string) =>
    Effect.gen(function* () {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; yield* Effect.sleep(10)) {
        const line = lines().find((l) => l.what === what && l.jobId === jobId)
        if (line !== undefined) return line.at
      }
      return yield* Effect.die(new Error(`no "${what}" of ${jobId} logged within 30 s: ${readFileSync(log, "utf8")}`))
    })
  return { schema, tag, api, worker, log, lines, logged }
})

const engineOf = (ctx: Context.Context<Engine.Engine>) => Context.get(ctx, Engine.Engine)
const storeOf = (ctx: Context.Context<JobStore.JobStore>) => Context.get(ctx, JobStore.JobStore)

/** Polls the store until the job is terminal (the engines' own awaits poll only every minute here). */
const settled = (store: JobStore.JobStoreShape, id: string) =>
  Effect.gen(function* () {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; yield* Effect.sleep(20)) {
      const job = yield* store.get(id)
      if (JobStatus.isTerminal(job.status)) return job
    }
    return yield* Effect.die(new Error(`job ${id} did not end within 30 s`))
  })

describe.skipIf(TestDatabase.unavailable)("wake-ups and cancels across two nodes on one PostgreSQL schema", () => {
  it.live(
    "a job submitted through the api node starts on the worker node at once, far sooner than its slow poll",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { api, worker, log, logged } = yield* cluster
          assert.isTrue(Context.get(worker, JobQueue.QueueSignals).crossProcess(), "the worker node listens")
          const claimed: Array<number> = []
          const running: Array<number> = []
          for (let i = 0; i < 5; i++) {
            const submitted = Date.now()
            const job = yield* engineOf(api).submit({ service: ref, task: "waiter", user: null, params: { log } })
            const toolStarted = yield* logged("start", job.id)
            // Executing as the worker node's claim recorded it; the tool's own start adds the thread's start-up.
            const executing = (yield* storeOf(api).get(job.id)).started ?? Number.NaN
            claimed.push(executing - submitted)
            running.push(toolStarted - submitted)
            yield* engineOf(api).cancel(job.id)
            assert.strictEqual((yield* settled(storeOf(api), job.id)).status, "Cancelled")
          }
          console.log(
            `submit (api node) → Executing (worker node): ${claimed.join(", ")} ms; → tool running: ${running.join(", ")} ms; poll ${slowPollMs} ms`
          )
          assert.isTrue(slowPollMs >= 30 * promptMs, "the poll interval is far longer than what is called prompt")
          for (const ms of claimed) assert.isBelow(ms, promptMs, `Executing ${ms} ms after the submit`)
          assert.strictEqual(engineOf(api).runningHere(), 0, "the api node ran nothing")
        })
      ),
    60_000
  )

  it.live(
    "a cancel through the api node aborts the tool running on the worker node within a second or two",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { api, worker, log, logged } = yield* cluster
          const job = yield* engineOf(api).submit({ service: ref, task: "waiter", user: null, params: { log } })
          yield* logged("start", job.id)
          assert.isTrue(engineOf(worker).runningHere() === 1, "the worker node runs it")
          const cancelled = Date.now()
          const cancelling = yield* engineOf(api).cancel(job.id)
          assert.strictEqual(cancelling.status, "Cancelling")
          const aborted = yield* logged("abort", job.id)
          const done = yield* settled(storeOf(api), job.id)
          console.log(`cancel (api node) → AbortSignal (worker node): ${aborted - cancelled} ms`)
          assert.isBelow(aborted - cancelled, promptMs)
          assert.strictEqual(done.status, "Cancelled")
        })
      ),
    60_000
  )

  it.live(
    "a tool that ignores a cancel from another node is still killed after the grace period",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { api, log, logged, lines } = yield* cluster
          const job = yield* engineOf(api).submit({ service: ref, task: "stubborn", user: null, params: { log } })
          yield* logged("start", job.id)
          const cancelled = Date.now()
          yield* engineOf(api).cancel(job.id)
          const aborted = yield* logged("abort", job.id)
          const done = yield* settled(storeOf(api), job.id)
          const ended = Date.now()
          console.log(
            `stubborn tool: aborted ${aborted - cancelled} ms after the cancel, its job Cancelled ${ended - cancelled} ms after (grace ${cancelGraceMs} ms)`
          )
          assert.isBelow(aborted - cancelled, promptMs)
          assert.strictEqual(done.status, "Cancelled")
          assert.isUndefined(
            lines().find((l) => l.what === "end" && l.jobId === job.id),
            "its thread was terminated: the tool never finished"
          )
        })
      ),
    60_000
  )

  it.live(
    "the worker node's listener, its connection killed, reconnects and wake-ups work again",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { api, worker, tag, log, logged } = yield* cluster
          const signals = Context.get(worker, JobQueue.QueueSignals)
          const listener = () =>
            TestDatabase.admin<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
              `geojobs worker-${tag} listener`
            ])
          const [before] = yield* listener()
          assert.isDefined(before, "the worker node's listening connection")
          yield* TestDatabase.admin("SELECT pg_terminate_backend($1)", [before?.pid])
          const killed = Date.now()
          let after: { pid: number } | undefined
          while (after === undefined || after.pid === before?.pid || !signals.crossProcess()) {
            if (Date.now() - killed > 30_000) return yield* Effect.die(new Error("the listener did not come back"))
            yield* Effect.sleep(20)
            after = (yield* listener())[0]
          }
          const back = Date.now() - killed
          const submitted = Date.now()
          const job = yield* engineOf(api).submit({ service: ref, task: "waiter", user: null, params: { log } })
          const started = yield* logged("start", job.id)
          console.log(
            `listener back ${back} ms after pg_terminate_backend; next submit started ${started - submitted} ms after`
          )
          assert.isBelow(started - submitted, promptMs)
          yield* engineOf(api).cancel(job.id)
          assert.strictEqual((yield* settled(storeOf(api), job.id)).status, "Cancelled")
        })
      ),
    60_000
  )
})
