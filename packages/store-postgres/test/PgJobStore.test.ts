import { assert, describe, it } from "@effect/vitest"
import { CallbackOutbox, Entropy, Job, JobQueue, JobStatus, JobStore } from "@geojobs/core"
import { CallbackOutboxSuite, JobQueueSuite, JobStoreSuite, SampleJobs } from "@geojobs/core/testing"
import { Context, Effect, Fiber, Layer } from "effect"
import * as PgJobStore from "../src/PgJobStore.ts"
import { admin, freshSchema, onFreshSchema, unavailable, unreachable, url } from "../src/testing/TestDatabase.ts"

const fresh = () => onFreshSchema((schema) => PgJobStore.layer({ connectionString: url, schema, max: 4 }))

describe.skipIf(unavailable)("PgJobStore passes the JobStore contract (a fresh schema per case)", () => {
  for (const [name, test] of Object.entries(JobStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe.skipIf(unavailable)("PgJobStore passes the JobQueue contract (a fresh schema per case)", () => {
  for (const [name, test] of Object.entries(JobQueueSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe.skipIf(unavailable)("PgJobStore passes the CallbackOutbox contract (a fresh schema per case)", () => {
  for (const [name, test] of Object.entries(CallbackOutboxSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe.skipIf(unavailable)("PgJobStore's callback outbox with several nodes", () => {
  it.live("deliverers on four pools claiming at once never get the same callback (SKIP LOCKED)", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const nodes = yield* Effect.all(
        Array.from({ length: 4 }, () => Layer.build(PgJobStore.layer({ connectionString: url, schema, max: 4 }))),
        { concurrency: "unbounded" }
      )
      const [first] = nodes
      if (first === undefined) return assert.fail("the nodes did not start")
      const store = Context.get(first, JobStore.JobStore)
      const count = 40
      for (let i = 0; i < count; i++) {
        const job = yield* store.create(
          yield* Job.make({
            service: SampleJobs.service,
            task: "Buffer",
            user: null,
            subscriber: { failedUri: `https://hooks.example.com/${i}`, jobsUrl: "https://gis.example.com/ogcapi/jobs" }
          })
        )
        yield* store.update(job.revision, yield* Job.transition(job, "Cancelled"))
      }
      const now = Number.MAX_SAFE_INTEGER - 1_000_000
      // Every node claims in small batches, all at once, until nothing is left for it.
      const claims = yield* Effect.all(
        nodes.map((node) =>
          Effect.gen(function* () {
            const outbox = Context.get(node, CallbackOutbox.CallbackOutbox)
            const mine: Array<string> = []
            while (true) {
              const batch = yield* outbox.claimDue({
                owner: `node-${nodes.indexOf(node)}`,
                now,
                leaseMs: 60_000,
                max: 3
              })
              if (batch.length === 0) return mine
              mine.push(...batch.map((d) => d.id))
            }
          })
        ),
        { concurrency: "unbounded" }
      )
      const all = claims.flat()
      assert.strictEqual(all.length, count, "every callback claimed")
      assert.strictEqual(new Set(all).size, count, "none claimed twice")
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(11)), Effect.scoped)
  )
})

describe.skipIf(unavailable)("PgJobStore", () => {
  it.effect("a refused insert leaves nothing behind", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const job = yield* SampleJobs.make("Submitted")
      yield* store.create(job)
      const error = yield* Effect.flip(store.create({ ...job, task: "Clip" }))
      assert.strictEqual(error._tag, "DuplicateJob")
      const page = yield* store.query({})
      assert.deepStrictEqual(
        page.results.map((j) => [j.id, j.task]),
        [[job.id, job.task]]
      )
    }).pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(3))))
  )

  it.effect("an update given the inputs the store handed out answers them without reading them back", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const inputs = { Features: { dataType: "GPFeatureRecordSetLayer", value: { features: [{ attributes: {} }] } } }
      const created = yield* store.create({ ...(yield* SampleJobs.make("Submitted")), inputs })
      const running = yield* store.update(created.revision, yield* Job.transition(created, "Executing"))
      assert.strictEqual(running.inputs, inputs, "the created object, not a copy read back")
      const read = yield* store.get(created.id)
      const done = yield* store.update(read.revision, yield* Job.transition(read, "Succeeded"))
      assert.strictEqual(done.inputs, read.inputs, "the object get answered")
      const foreign = yield* store.update(done.revision, { ...done, inputs: { ...inputs } })
      assert.notStrictEqual(foreign.inputs, inputs, "an object the store never handed out is answered from the row")
      assert.deepStrictEqual(foreign.inputs, inputs)
    }).pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(5))))
  )

  it.effect("an insert the database refuses fails with a JobStoreError and leaves nothing behind", () =>
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const job = yield* SampleJobs.make("Submitted")
      // PostgreSQL text holds no U+0000: the insert fails in the driver, not in the adapter.
      const error = yield* Effect.flip(store.create({ ...job, user: "nul\u0000user" }))
      assert.strictEqual(error._tag, "JobStoreError")
      assert.include(error.message, "create")
      assert.strictEqual((yield* store.query({})).total, 0)
      assert.strictEqual((yield* Effect.flip(store.get(job.id)))._tag, "NoSuchJob")
      yield* store.create(job)
      assert.strictEqual((yield* store.get(job.id)).id, job.id)
    }).pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(4))))
  )

  it.effect("an unreachable database fails the layer with a JobStoreError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        JobStore.JobStore.use((s) => s.get("j0")).pipe(Effect.provide(PgJobStore.layer(unreachable)))
      )
      assert.strictEqual(error._tag, "JobStoreError")
      assert.include(error.message, "migrate jobs")
    })
  )

  it.effect("keeps jobs across a close and reopen of the pool", () =>
    Effect.gen(function* () {
      const schema = `geojobs_test_reopen_${process.pid}`
      yield* admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      const layer = () => PgJobStore.layer({ connectionString: url, schema })
      const job = yield* SampleJobs.make("Executing")
      yield* JobStore.JobStore.use((s) => s.create(job)).pipe(Effect.provide(layer()))
      const again = yield* JobStore.JobStore.use((s) => s.get(job.id)).pipe(Effect.provide(layer()))
      yield* admin(`DROP SCHEMA "${schema}" CASCADE`)
      assert.deepStrictEqual(again, job)
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )
})

describe.skipIf(unavailable)("PgJobStore claims across nodes", () => {
  const limited = { ...SampleJobs.service, folder: "Limits", name: "Two", serviceId: "limitstwoaaaaaaaaaaaa" }
  const other = { ...SampleJobs.service, folder: "Limits", name: "Three", serviceId: "limitsthreeaaaaaaaaaa" }
  const limits = [
    { service: limited, max: 2 },
    { service: other, max: 3 }
  ]

  it.live("claimers on several pools never run more than a service's limit, and never claim a job twice", () =>
    Effect.gen(function* () {
      const schema = yield* freshSchema
      const nodes = yield* Effect.all(
        Array.from({ length: 4 }, () => Layer.build(PgJobStore.layer({ connectionString: url, schema, max: 4 }))),
        { concurrency: "unbounded" }
      )
      const [first, second] = nodes
      if (first === undefined || second === undefined) return assert.fail("the nodes did not start")
      const store = Context.get(first, JobStore.JobStore)
      const total = { limited: 40, other: 20 }
      for (let i = 0; i < total.limited + total.other; i++) {
        const job = yield* Job.make({ service: i % 3 === 2 ? other : limited, task: "Buffer", user: null })
        yield* store.create({ ...job, created: 1000 + i })
      }
      const claimed: Array<string> = []
      // What the claimers believe is running: raised after a claim commits, lowered before a finish commits, so it
      // never counts more than the database holds.
      const running = new Map<string, number>()
      const worst = new Map<string, number>()
      let done = false
      // An independent observer: each statement sees one consistent snapshot of the running jobs.
      const observer = Effect.gen(function* () {
        let seen = { limited: 0, other: 0 }
        while (!done) {
          const rows = yield* admin<{ name: string; n: number }>(
            `SELECT name, count(*)::int AS n FROM "${schema}".jobs WHERE status = ANY($1::text[]) GROUP BY name`,
            [JobStatus.held]
          )
          for (const r of rows) {
            if (r.name === limited.name) seen = { ...seen, limited: Math.max(seen.limited, r.n) }
            if (r.name === other.name) seen = { ...seen, other: Math.max(seen.other, r.n) }
          }
        }
        return seen
      })
      const claimer = (node: Context.Context<JobStore.JobStore | JobQueue.JobQueue>, owner: string) =>
        Effect.gen(function* () {
          const queue = Context.get(node, JobQueue.JobQueue)
          const jobs = Context.get(node, JobStore.JobStore)
          let idle = 0
          while (idle < 50) {
            const got = (yield* queue.claim({ owner, max: 3, limits })).map((c) => c.job)
            if (got.length === 0) {
              idle++
              yield* Effect.sleep("2 millis")
              continue
            }
            idle = 0
            for (const job of got) {
              claimed.push(job.id)
              const n = (running.get(job.service.name) ?? 0) + 1
              running.set(job.service.name, n)
              worst.set(job.service.name, Math.max(worst.get(job.service.name) ?? 0, n))
            }
            yield* Effect.sleep("3 millis")
            for (const job of got) {
              running.set(job.service.name, (running.get(job.service.name) ?? 1) - 1)
              yield* jobs.update(job.revision, yield* Job.transition(job, "Succeeded"))
            }
          }
        })
      const observed = yield* Effect.forkChild(observer)
      yield* Effect.all(
        nodes.flatMap((node, i) => [0, 1, 2].map((k) => claimer(node, `node${i}-${k}`))),
        { concurrency: "unbounded" }
      )
      done = true
      const seen = yield* Fiber.join(observed)
      assert.strictEqual(new Set(claimed).size, claimed.length, "a job was claimed twice")
      assert.strictEqual(claimed.length, total.limited + total.other, "every job was claimed")
      assert.isAtMost(seen.limited, 2, "the observer saw the limit of 2 exceeded")
      assert.isAtMost(seen.other, 3, "the observer saw the limit of 3 exceeded")
      assert.isAtMost(worst.get(limited.name) ?? 0, 2, "the claimers held more than the limit of 2")
      assert.isAtMost(worst.get(other.name) ?? 0, 3, "the claimers held more than the limit of 3")
      assert.deepStrictEqual(yield* Context.get(second, JobQueue.JobQueue).countByStatus(), {
        Succeeded: total.limited + total.other
      })
    }).pipe(Effect.scoped, Effect.provide(Entropy.Entropy.layerSeeded(11)))
  )
})
