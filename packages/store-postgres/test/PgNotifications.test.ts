import { assert, describe, it } from "@effect/vitest"
import { Entropy, Job, JobQueue, JobStore } from "@geojobs/core"
import { QueueSignalsSuite, SampleJobs } from "@geojobs/core/testing"
import * as TcpProxy from "@geojobs/fixtures/TcpProxy"
import { Context, Effect, Layer, Option, PubSub } from "effect"
import pg from "pg"
import * as PgJobStore from "../src/PgJobStore.ts"
import * as PgNotifications from "../src/PgNotifications.ts"
import { admin, freshSchema, onFreshSchema, unavailable, url } from "../src/testing/TestDatabase.ts"

/** One node's job store, queue and signals on `schema`, its listener named `name` in pg_stat_activity. */
const node = (schema: string, name = "geojobs test") => {
  const options = { connectionString: url, schema, max: 4, pool: { application_name: name } }
  return PgNotifications.layer({ ...options, listener: { reconnectMinMs: 50, reconnectMaxMs: 500 } }).pipe(
    Layer.provideMerge(PgJobStore.layer(options))
  )
}

/** The next signal, or a failure after 10 s (a bound against hangs, not a measured time). */
const next = (subscription: PubSub.Subscription<JobQueue.Signal>) =>
  Effect.flatMap(Effect.timeoutOption(PubSub.take(subscription), "10 seconds"), (signal) =>
    Option.isSome(signal) ? Effect.succeed(signal.value) : Effect.die(new Error("no signal within 10 s"))
  )

const until = (check: () => boolean, what: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 400; i++) {
      if (check()) return
      yield* Effect.sleep(25)
    }
    return yield* Effect.die(new Error(`timed out: ${what}`))
  })

describe.skipIf(unavailable)("PgNotifications passes the QueueSignals contract (a fresh schema per case)", () => {
  for (const [name, test] of Object.entries(QueueSignalsSuite.cases)) {
    it.live(name, () =>
      test.pipe(
        Effect.provide(
          Layer.mergeAll(
            onFreshSchema((schema) => node(schema)),
            Entropy.Entropy.layerSeeded(7)
          )
        )
      )
    )
  }
})

describe.skipIf(unavailable)("PgNotifications", () => {
  it.live("a write through one node is signalled on another node of the same schema, and not on another schema's", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const schema = yield* freshSchema
        const a = yield* Layer.build(node(schema))
        const b = yield* Layer.build(node(schema))
        const elsewhere = yield* Layer.build(node(yield* freshSchema))
        const onB = Context.get(b, JobQueue.QueueSignals)
        assert.isTrue(onB.crossProcess(), "b's listener is connected")
        const subscription = yield* onB.subscribe
        const otherSchema = yield* Context.get(elsewhere, JobQueue.QueueSignals).subscribe
        const storeA = Context.get(a, JobStore.JobStore)
        yield* Context.get(elsewhere, JobStore.JobStore).create(yield* SampleJobs.make("Submitted"))
        const job = yield* storeA.create(yield* SampleJobs.make("Submitted"))
        assert.deepStrictEqual(yield* next(subscription), {
          _tag: "Work",
          service: { folder: "Analysis", name: "Geometry" }
        })
        const [claimed] = yield* Context.get(b, JobQueue.JobQueue).claim({
          owner: "b",
          max: 1,
          limits: [{ service: SampleJobs.service, max: 1 }]
        })
        assert.strictEqual(claimed?.job.id, job.id)
        const current = yield* storeA.get(job.id)
        yield* storeA.update(current.revision, yield* Job.transition(current, "Cancelling"))
        assert.deepStrictEqual(yield* next(subscription), { _tag: "Stop", jobId: job.id }, "a's cancel reaches b")
        // The other schema heard only its own job.
        assert.strictEqual((yield* next(otherSchema))._tag, "Work")
        assert.strictEqual(yield* PubSub.remaining(otherSchema), 0)
      })
    ).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )

  it.live("a signal is sent when its transaction commits, and never for one rolled back", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const schema = yield* freshSchema
        const ctx = yield* Layer.build(node(schema))
        const store = Context.get(ctx, JobStore.JobStore)
        const subscription = yield* Context.get(ctx, JobQueue.QueueSignals).subscribe
        const held = yield* store.create(yield* SampleJobs.make("Executing"))
        const sentinel = (i: number) =>
          Effect.flatMap(
            SampleJobs.make("Submitted", { service: { ...SampleJobs.service, name: `Sentinel${i}` } }),
            (j) => store.create(j)
          )
        const raw = new pg.Client({ connectionString: url })
        yield* Effect.acquireRelease(
          Effect.promise(() => raw.connect()),
          () => Effect.promise(() => raw.end())
        )
        const sql = (text: string, values?: Array<unknown>) => Effect.promise(() => raw.query(text, values))
        const jobs = `"${schema}".jobs`
        // A cancel written but not committed yet: the sentinel committed after it is heard first.
        yield* sql("BEGIN")
        yield* sql(`UPDATE ${jobs} SET status = 'Cancelling' WHERE id = $1`, [held.id])
        yield* sentinel(1)
        assert.deepStrictEqual(yield* next(subscription), {
          _tag: "Work",
          service: { folder: "Analysis", name: "Sentinel1" }
        })
        yield* sql("COMMIT")
        assert.deepStrictEqual(yield* next(subscription), { _tag: "Stop", jobId: held.id }, "heard at its commit")
        // A job queued in a transaction rolled back is never heard of.
        yield* sql("BEGIN")
        yield* sql(`UPDATE ${jobs} SET status = 'Submitted' WHERE id = $1`, [held.id])
        yield* sql("ROLLBACK")
        yield* sentinel(2)
        assert.deepStrictEqual(yield* next(subscription), {
          _tag: "Work",
          service: { folder: "Analysis", name: "Sentinel2" }
        })
        assert.strictEqual(yield* PubSub.remaining(subscription), 0)
      })
    ).pipe(Effect.provide(Entropy.Entropy.layerSeeded(4)))
  )

  it.live("a listener whose connection is killed reconnects, says Resync, and hears the other node again", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const schema = yield* freshSchema
        const name = `geojobs ${schema.slice(-12)}`
        const writer = yield* Layer.build(node(schema, "geojobs writer"))
        const listener = yield* Layer.build(node(schema, name))
        const signals = Context.get(listener, JobQueue.QueueSignals)
        const subscription = yield* signals.subscribe
        const store = Context.get(writer, JobStore.JobStore)
        const backends = () =>
          admin<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [`${name} listener`])
        const [backend] = yield* backends()
        assert.isDefined(backend, "the listening connection shows in pg_stat_activity under the node's name")
        const killed = yield* admin<{ ok: boolean }>("SELECT pg_terminate_backend($1) AS ok", [backend?.pid])
        assert.isTrue(killed[0]?.ok)
        const lostAt = Date.now()
        assert.deepStrictEqual(yield* next(subscription), { _tag: "Resync" }, "lost: nothing is heard from now on")
        assert.deepStrictEqual(
          yield* next(subscription),
          { _tag: "Resync" },
          "back, and everything may have been missed"
        )
        const reconnectMs = Date.now() - lostAt
        yield* until(() => signals.crossProcess(), "connected again")
        const [again] = yield* backends()
        assert.notStrictEqual(again?.pid, backend?.pid, "a new connection")
        const job = yield* store.create(yield* SampleJobs.make("Submitted"))
        assert.deepStrictEqual(yield* next(subscription), {
          _tag: "Work",
          service: { folder: "Analysis", name: "Geometry" }
        })
        console.log(`listener reconnected ${reconnectMs} ms after pg_terminate_backend; job ${job.id} heard again`)
      })
    ).pipe(Effect.provide(Entropy.Entropy.layerSeeded(5)))
  )

  it.live(
    "a listener whose network stops answering notices it, polls meanwhile, and hears again once it carries bytes",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const schema = yield* freshSchema
          const writer = yield* Layer.build(node(schema, "geojobs writer"))
          const store = Context.get(writer, JobStore.JobStore)
          // The listener's connections go through a proxy that stops carrying bytes while keeping them open.
          const gate = yield* Effect.acquireRelease(
            Effect.promise(() => TcpProxy.make(0, new URL(url))),
            (g) => Effect.promise(() => g.close())
          )
          const listener = yield* Layer.build(
            PgNotifications.layer({
              connectionString: gate.url,
              schema,
              connectTimeoutMs: 500,
              statementTimeoutMs: 500,
              listener: { reconnectMinMs: 50, reconnectMaxMs: 200, pingMs: 200 }
            })
          )
          const signals = Context.get(listener, JobQueue.QueueSignals)
          const subscription = yield* signals.subscribe
          assert.isTrue(signals.crossProcess(), "listening")

          gate.freeze()
          const frozenAt = Date.now()
          assert.deepStrictEqual(yield* next(subscription), { _tag: "Resync" }, "lost: the engine polls from now on")
          const noticedMs = Date.now() - frozenAt
          assert.isFalse(signals.crossProcess(), "not listening while the network drops everything")
          // Reconnects meanwhile are accepted by the network and never answered: each gives up after its wait.
          yield* Effect.sleep(1_000)
          assert.isFalse(signals.crossProcess(), "still not listening")

          gate.thaw()
          const thawedAt = Date.now()
          assert.deepStrictEqual(yield* next(subscription), { _tag: "Resync" }, "back: everything may have been missed")
          yield* until(() => signals.crossProcess(), "listening again")
          const backMs = Date.now() - thawedAt
          yield* store.create(yield* SampleJobs.make("Submitted"))
          assert.deepStrictEqual(yield* next(subscription), {
            _tag: "Work",
            service: { folder: "Analysis", name: "Geometry" }
          })
          console.log(
            `frozen network noticed after ${noticedMs} ms (ping 200 ms, wait 500 ms); listening ${backMs} ms after it thawed`
          )
        })
      ).pipe(Effect.provide(Entropy.Entropy.layerSeeded(6)))
  )
})
