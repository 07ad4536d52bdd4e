/**
 * The JobStore contract: named Effects that every store adapter (memory, SQLite, PostgreSQL) runs unchanged. They
 * need only `JobStore` and `Entropy`, and no test runner: a broken promise fails the Effect with a
 * `ContractViolation` that says what was expected. Give each case a fresh, empty store:
 *
 * ```ts
 * for (const [name, test] of Object.entries(JobStoreSuite.cases)) {
 *   it.effect(name, () => test.pipe(Effect.provide([myStoreLayer, Entropy.layerSeeded(7)])))
 * }
 * ```
 *
 * @module
 */
import { Effect } from "effect"
import type { Entropy } from "../Entropy.ts"
import * as Job from "../Job.ts"
import { JobStore } from "../JobStore.ts"
import type { ServiceRef } from "../ServiceRef.ts"
import { ContractViolation, expect, failsWith, geometry, same, unicode, utilities } from "./Contract.ts"

export { ContractViolation }

const base = 1_700_000_000_000

/** A job created `offset` ms after a fixed base, so queries have a known order. */
const jobAt = (offset: number, options: { service?: ServiceRef; user?: string | null; task?: string } = {}) =>
  Effect.map(
    Job.make({
      service: options.service ?? geometry,
      task: options.task ?? "Buffer",
      user: options.user === undefined ? "analyst" : options.user
    }),
    (job): Job.Job => ({ ...job, created: base + offset })
  )

const seed = (count: number, options: (i: number) => { service?: ServiceRef; user?: string | null } = () => ({})) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const jobs: Array<Job.Job> = []
    for (let i = 0; i < count; i++) jobs.push(yield* store.create(yield* jobAt(i * 1000, options(i))))
    return jobs
  })

const orDie = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.orDie(effect)

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<Record<string, Effect.Effect<void, ContractViolation, JobStore | Entropy>>> = {
  "create then get returns the same job, every field intact": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      let job = yield* jobAt(0, { service: unicode, user: "Jürgen Weiß", task: "Puffer (geodätisch)" })
      job = {
        ...job,
        inputs: {
          Distanz: { dataType: "GPLinearUnit", value: { distance: 1.5, units: "esriKilometers" } },
          Namen: { dataType: "GPMultiValue:GPString", value: ["a", "ß", "名前", ""] },
          Leer: { dataType: "GPString", value: null }
        }
      }
      const created = yield* store.create(job)
      yield* same(created, job, "create's answer")
      yield* same(yield* store.get(job.id), job, "get after create")
    })
  ),
  "getSummary and query answer the job without its values, with the names of its inputs and results": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create({
        ...(yield* jobAt(0)),
        inputs: {
          Input_Features: { dataType: "GPFeatureRecordSetLayer", value: { features: [{ attributes: { n: 1 } }] } },
          Distance: { dataType: "GPLinearUnit", value: { distance: 5, units: "esriMeters" } }
        }
      })
      yield* same(yield* store.getSummary(job.id), Job.summarize(job), "getSummary after create")
      const running = yield* store.update(job.revision, yield* Job.transition(job, "Executing"))
      const done = yield* store.update(
        running.revision,
        Job.setResults(yield* Job.transition(running, "Succeeded"), {
          Output: { dataType: "GPFeatureRecordSetLayer", value: { features: [] } }
        })
      )
      const summary = yield* store.getSummary(job.id)
      yield* same(summary, Job.summarize(done), "getSummary after results were recorded")
      yield* same(summary.inputNames, ["Input_Features", "Distance"], "input names in the order given")
      yield* same(summary.resultNames, ["Output"], "result names")
      yield* expect(!("inputs" in summary) && !("results" in summary), "a summary carries no parameter values")
      const listed = (yield* store.query({})).results[0]
      yield* same(listed, Job.summarize(done), "a query lists summaries")
      yield* failsWith(
        store.getSummary("j00000000000000000000000000000000"),
        "NoSuchJob",
        "getSummary of an unknown id"
      )
    })
  ),
  "an update keeps the inputs given at create, whatever the update holds": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const inputs = { Distance: { dataType: "GPDouble", value: 1 } }
      const job = yield* store.create({ ...(yield* jobAt(0)), inputs })
      const written = yield* store.update(job.revision, {
        ...(yield* Job.transition(job, "Executing")),
        inputs: { Distance: { dataType: "GPDouble", value: 2 }, Extra: { dataType: "GPString", value: "x" } }
      })
      yield* same(written.inputs, inputs, "update's answer keeps the created inputs")
      yield* same((yield* store.get(job.id)).inputs, inputs, "get after the update")
      yield* same((yield* store.getSummary(job.id)).inputNames, ["Distance"], "the summary's input names")
    })
  ),
  "creating an id twice fails with DuplicateJob": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create(yield* jobAt(0))
      yield* failsWith(store.create({ ...job, task: "Clip" }), "DuplicateJob", "a second create")
      yield* same((yield* store.get(job.id)).task, "Buffer", "the first job after a duplicate create")
    })
  ),
  "get of an unknown id fails with NoSuchJob": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      yield* failsWith(store.get("j00000000000000000000000000000000"), "NoSuchJob", "get of an unknown id")
    })
  ),
  "update at the stored revision writes the job with revision + 1": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create(yield* jobAt(0))
      let next = yield* Job.transition(job, "Executing")
      next = Job.setProgress(yield* Job.addMessage(next, "informative", "Started"), 12, "Reading")
      const written = yield* store.update(job.revision, next)
      yield* expect(written.revision === job.revision + 1, "revision grows by one on update")
      yield* same(yield* store.get(job.id), written, "get after update")
      yield* same(written.progress, { type: "step", message: "Reading", percent: 12 }, "progress after update")
      const again = yield* store.update(written.revision, Job.setProgress(written, 50, "Halfway"))
      yield* expect(again.revision === job.revision + 2, "revision grows on every update, status change or not")
    })
  ),
  "update at a stale revision fails with StaleRevision and changes nothing": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create(yield* jobAt(0))
      const first = yield* store.update(job.revision, yield* Job.transition(job, "Executing"))
      yield* failsWith(
        store.update(job.revision, yield* Job.transition(job, "Cancelled")),
        "StaleRevision",
        "an update from an old revision"
      )
      yield* same(yield* store.get(job.id), first, "the job after a stale update")
    })
  ),
  "update with a transition the table forbids fails with InvalidTransition": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create(yield* jobAt(0))
      yield* failsWith(
        store.update(job.revision, { ...job, status: "Succeeded" }),
        "InvalidTransition",
        "Submitted → Succeeded"
      )
      const succeeded = yield* Job.transition(yield* Job.transition(job, "Executing"), "Succeeded")
      // Two legal steps made in memory are still one illegal change from what is stored.
      yield* failsWith(
        store.update(job.revision, succeeded),
        "InvalidTransition",
        "Submitted → Succeeded in one update"
      )
      yield* same((yield* store.get(job.id)).status, "Submitted", "status after rejected updates")
    })
  ),
  "update of an unknown job fails with NoSuchJob": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* jobAt(0)
      yield* failsWith(store.update(1, job), "NoSuchJob", "update of a job never created")
    })
  ),
  "of two updates from the same revision exactly one wins": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const job = yield* store.create(yield* jobAt(0))
      // Both changes would be legal from either version: only the revision guard can refuse one of them.
      const first = Job.setProgress(job, 10, "first writer")
      const second = yield* Job.addMessage(job, "warning", "second writer")
      const outcomes = yield* Effect.all(
        [Effect.result(store.update(job.revision, first)), Effect.result(store.update(job.revision, second))],
        { concurrency: "unbounded" }
      )
      const wins = outcomes.filter((r) => r._tag === "Success").length
      yield* expect(wins === 1, `exactly one concurrent update succeeds (got ${wins})`)
      yield* expect((yield* store.get(job.id)).revision === job.revision + 1, "the stored revision moved once")
    })
  ),
  "query filters by service, status set, user and an inclusive created window": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const jobs = yield* seed(12, (i) => ({
        service: i % 3 === 0 ? utilities : geometry,
        user: i % 4 === 0 ? null : i % 2 === 0 ? "analyst" : "serviceAdmin"
      }))
      const j5 = jobs[5] as Job.Job
      yield* store.update(j5.revision, yield* Job.transition(j5, "Executing"))
      const byService = yield* store.query({ service: { folder: "System", name: "Utilities" }, number: 100 })
      yield* same(
        byService.results.map((j) => j.id),
        [9, 6, 3, 0].map((i) => jobs[i]?.id),
        "jobs of System/Utilities, newest first"
      )
      const noFolder = yield* store.query({ service: { name: "Utilities" } })
      yield* expect(noFolder.total === 0, "a service without a folder does not match one in a folder")
      const byStatus = yield* store.query({ statuses: ["Executing", "Succeeded"] })
      yield* same(
        byStatus.results.map((j) => j.id),
        [j5.id],
        "jobs Executing or Succeeded"
      )
      const byUser = yield* store.query({ user: "serviceAdmin", number: 100 })
      yield* same(
        byUser.results.map((j) => j.id),
        [11, 9, 7, 5, 3, 1].map((i) => jobs[i]?.id),
        "jobs of serviceAdmin"
      )
      const window = yield* store.query({ createdFrom: base + 2000, createdTo: base + 4000 })
      yield* same(
        window.results.map((j) => j.id),
        [4, 3, 2].map((i) => jobs[i]?.id),
        "jobs created in [base+2s, base+4s]"
      )
      const all = yield* store.query({
        service: { folder: "Analysis", name: "Geometry" },
        statuses: ["Submitted"],
        user: "analyst",
        createdFrom: base + 2000
      })
      yield* same(
        all.results.map((j) => j.id),
        [10, 2].map((i) => jobs[i]?.id),
        "all filters together"
      )
    })
  ),
  "query pages with total, 1-based start and nextStart = -1 at the end": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const jobs = yield* seed(25)
      const newestFirst = [...jobs].reverse().map((j) => j.id)
      const first = yield* store.query({})
      yield* same(
        [first.total, first.start, first.num, first.nextStart],
        [25, 1, 10, 11],
        "first page with the default size 10"
      )
      yield* same(
        first.results.map((j) => j.id),
        newestFirst.slice(0, 10),
        "first page, newest first"
      )
      const second = yield* store.query({ start: 11, number: 10 })
      yield* same([second.start, second.num, second.nextStart], [11, 10, 21], "second page")
      yield* same(
        second.results.map((j) => j.id),
        newestFirst.slice(10, 20),
        "second page's jobs"
      )
      const last = yield* store.query({ start: 21, number: 10 })
      yield* same([last.total, last.num, last.nextStart], [25, 5, -1], "last page")
      const exact = yield* store.query({ start: 16, number: 10 })
      yield* same([exact.num, exact.nextStart], [10, -1], "a page ending exactly at the last job")
      const oldest = yield* store.query({ order: "oldest", start: 21 })
      yield* same(
        oldest.results.map((j) => j.id),
        jobs.slice(20).map((j) => j.id),
        "the last page in queue order (oldest first)"
      )
      const beyond = yield* store.query({ start: 40 })
      yield* same([beyond.total, beyond.num, beyond.nextStart], [25, 0, -1], "a start past the end")
    })
  ),
  "query of an empty store has total 0 and nextStart -1": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const page = yield* store.query({ statuses: ["Failed"] })
      yield* same(
        [page.total, page.start, page.num, page.nextStart, page.results.length],
        [0, 1, 0, -1, 0],
        "empty page"
      )
    })
  ),
  "query rejects a page size or start out of range with InvalidQuery": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      yield* failsWith(store.query({ number: 0 }), "InvalidQuery", "number=0")
      yield* failsWith(store.query({ number: 1.5 }), "InvalidQuery", "number=1.5")
      yield* failsWith(store.query({ start: 0 }), "InvalidQuery", "start=0")
      yield* failsWith(store.query({ createdFrom: 10, createdTo: 5 }), "InvalidQuery", "an inverted time window")
    })
  ),
  "a job's subscriber is stored with it, read back everywhere, and kept as created by an update": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const subscriber = {
        successUri: "https://hooks.example.com/done?job=1&x=ü",
        failedUri: "http://10.0.0.7:8080/failed",
        jobsUrl: "https://gis.example.com/ogcapi/jobs"
      }
      const job = yield* store.create({ ...(yield* jobAt(0)), subscriber })
      yield* same((yield* store.get(job.id)).subscriber, subscriber, "get's subscriber")
      yield* same((yield* store.getSummary(job.id)).subscriber, subscriber, "getSummary's subscriber")
      yield* same((yield* store.query({})).results[0]?.subscriber, subscriber, "a query's subscriber")
      const { subscriber: _s, ...without } = yield* Job.transition(job, "Executing")
      const written = yield* store.update(job.revision, without)
      yield* same(written.subscriber, subscriber, "the update's answer, given a job without it")
      yield* same((yield* store.get(job.id)).subscriber, subscriber, "get after that update")
      const plain = yield* store.create(yield* jobAt(1))
      yield* expect(!("subscriber" in (yield* store.get(plain.id))), "a job without a subscriber has no such key")
      yield* expect(!("subscriber" in (yield* store.getSummary(plain.id))), "nor has its summary")
    })
  ),
  "delete removes the job; deleting it again fails with NoSuchJob": orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const [keep, gone] = yield* seed(2)
      if (keep === undefined || gone === undefined)
        return yield* new ContractViolation({ expectation: "seeding two jobs" })
      yield* store.delete(gone.id)
      yield* failsWith(store.get(gone.id), "NoSuchJob", "get after delete")
      yield* failsWith(store.delete(gone.id), "NoSuchJob", "a second delete")
      yield* same(
        (yield* store.query({})).results.map((j) => j.id),
        [keep.id],
        "what a query sees after delete"
      )
    })
  )
}
