import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import { Job, JobStatus, JobStore } from "../src/index.ts"
import { SampleJobs } from "../src/testing/index.ts"

// The ArcGIS job lifecycle as DESIGN.md and the table's notes describe it, written out by hand so the table (and the
// code built on it) is checked against something it was not derived from.
const spec: Readonly<Record<JobStatus.JobStatus, ReadonlyArray<JobStatus.JobStatus>>> = {
  // A job still being assembled is submitted, refused (Failed), cancelled or deleted.
  New: ["Submitted", "Failed", "Cancelled", "Deleting"],
  // Queued: claimed (Executing) or parked (Waiting); a tool that cannot be loaded fails before it runs; a cancel ends
  // it at once (Cancelled) or, racing a claim, through Cancelling.
  Submitted: ["Waiting", "Executing", "Failed", "Cancelling", "Cancelled", "Deleting"],
  Waiting: ["Submitted", "Executing", "Failed", "Cancelling", "Cancelled", "Deleting"],
  // Running: it ends one of three ways, is cancelled through Cancelling, or (retryable, interrupted) is queued again.
  Executing: ["Submitted", "Succeeded", "Failed", "TimedOut", "Cancelling", "Deleting"],
  // A restart mid-cancel may fail the job instead.
  Cancelling: ["Cancelled", "Failed", "Deleting"],
  Deleting: ["Deleted"],
  Succeeded: [],
  Failed: [],
  TimedOut: [],
  Cancelled: [],
  Deleted: []
}
const specTerminal: ReadonlyArray<JobStatus.JobStatus> = ["Succeeded", "Failed", "TimedOut", "Cancelled", "Deleted"]
const specQueued: ReadonlyArray<JobStatus.JobStatus> = ["New", "Submitted", "Waiting"]

describe("JobStatus", () => {
  it("has the 11 esriJobStatus values with codes 0–10 and their names", () => {
    assert.deepStrictEqual(
      JobStatus.all.map((s) => [JobStatus.code(s), JobStatus.restName(s), JobStatus.table[s].admin]),
      [
        [0, "esriJobNew", "New"],
        [1, "esriJobSubmitted", "Submitted"],
        [2, "esriJobWaiting", "Waiting"],
        [3, "esriJobExecuting", "Executing"],
        [4, "esriJobSucceeded", "Succeeded"],
        [5, "esriJobFailed", "Failed"],
        [6, "esriJobTimedOut", "TimedOut"],
        [7, "esriJobCancelling", "Cancelling"],
        [8, "esriJobCancelled", "Cancelled"],
        [9, "esriJobDeleting", "Deleting"],
        [10, "esriJobDeleted", "Deleted"]
      ]
    )
  })

  it("maps to the OGC statuses", () => {
    assert.deepStrictEqual(Object.fromEntries(JobStatus.all.map((s) => [s, JobStatus.ogcStatus(s)])), {
      New: "accepted",
      Submitted: "accepted",
      Waiting: "accepted",
      Executing: "running",
      Succeeded: "successful",
      Failed: "failed",
      TimedOut: "failed",
      Cancelling: "dismissed",
      Cancelled: "dismissed",
      Deleting: "dismissed",
      Deleted: "dismissed"
    })
  })

  it("marks exactly the end states terminal", () => {
    assert.deepStrictEqual(JobStatus.all.filter(JobStatus.isTerminal), [
      "Succeeded",
      "Failed",
      "TimedOut",
      "Cancelled",
      "Deleted"
    ])
  })

  it("names the status groups adapters use: queued, claimable, held by a worker, statistics buckets", () => {
    assert.deepStrictEqual(JobStatus.queued, ["New", "Submitted", "Waiting"])
    assert.deepStrictEqual(JobStatus.claimable, ["Submitted"])
    assert.deepStrictEqual(JobStatus.held, ["Executing", "Cancelling", "Deleting"])
    assert.deepStrictEqual(JobStatus.terminal, JobStatus.all.filter(JobStatus.isTerminal))
    assert.deepStrictEqual(JobStatus.inBucket("succeeded"), ["Succeeded"])
    assert.deepStrictEqual(JobStatus.inBucket("failed"), ["Failed", "TimedOut"])
    assert.deepStrictEqual(JobStatus.inBucket("cancelled"), ["Cancelled"])
    // Every finished job but a deleted one is counted somewhere; nothing unfinished is.
    for (const s of JobStatus.all) {
      assert.strictEqual(JobStatus.table[s].statistics !== null, JobStatus.isTerminal(s) && s !== "Deleted", s)
    }
  })

  it("a queued job cancels at once, an executing one through Cancelling, a finished one not at all", () => {
    assert.isTrue(JobStatus.cancelsAtOnce("Submitted"))
    assert.isTrue(JobStatus.cancelsAtOnce("Waiting"))
    assert.isFalse(JobStatus.cancelsAtOnce("Executing"))
    assert.isTrue(JobStatus.isCancellable("Executing"))
    assert.isTrue(JobStatus.canTransition("Executing", "Cancelling"))
    for (const s of ["Succeeded", "Failed", "TimedOut", "Cancelled", "Deleted"] as const) {
      assert.isFalse(JobStatus.isCancellable(s), s)
    }
  })

  it("only Succeeded jobs have results", () => {
    assert.deepStrictEqual(JobStatus.all.filter(JobStatus.hasResults), ["Succeeded"])
  })

  it("pollers never see New, Deleting or Deleted", () => {
    assert.strictEqual(JobStatus.pollerView("New"), "Submitted")
    assert.isNull(JobStatus.pollerView("Deleting"))
    assert.isNull(JobStatus.pollerView("Deleted"))
    assert.strictEqual(JobStatus.pollerView("Executing"), "Executing")
  })

  it("reads status words as clients send them", () => {
    assert.strictEqual(JobStatus.parse("esriJobSucceeded"), "Succeeded")
    assert.strictEqual(JobStatus.parse("Succeeded"), "Succeeded")
    assert.strictEqual(JobStatus.parse(" timedout "), "TimedOut")
    assert.isUndefined(JobStatus.parse("esriJobDone"))
    assert.isUndefined(JobStatus.parse(""))
    assert.strictEqual(JobStatus.fromCode(4), "Succeeded")
    assert.isUndefined(JobStatus.fromCode(11))
    assert.isUndefined(JobStatus.fromCode(1.5))
  })

  it.effect("a transition not in the table is an InvalidTransition error", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* JobStatus.transition("Submitted", "Executing"), "Executing")
      const error = yield* Effect.flip(JobStatus.transition("Succeeded", "Executing"))
      assert.strictEqual(error._tag, "InvalidTransition")
      assert.strictEqual(error.from, "Succeeded")
      assert.strictEqual(error.to, "Executing")
      assert.include(error.message, "Succeeded to Executing")
    })
  )

  it("every successor is a known status and no status lists itself", () => {
    for (const s of JobStatus.all) {
      for (const next of JobStatus.table[s].successors) {
        assert.isTrue(JobStatus.isJobStatus(next))
        assert.notStrictEqual(next, s)
      }
    }
  })

  it("every status is reachable from New", () => {
    const seen = new Set<JobStatus.JobStatus>(["New"])
    const queue: Array<JobStatus.JobStatus> = ["New"]
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
      for (const next of JobStatus.table[s].successors) {
        if (!seen.has(next)) {
          seen.add(next)
          queue.push(next)
        }
      }
    }
    assert.strictEqual(seen.size, JobStatus.all.length)
  })

  it("the table's successors are the documented ArcGIS transitions", () => {
    for (const s of JobStatus.all) {
      assert.sameMembers([...JobStatus.table[s].successors], [...spec[s]], s)
      assert.strictEqual(JobStatus.isTerminal(s), specTerminal.includes(s), s)
    }
  })
})

/** One step of a random history: a target status picked from all of them (not from the table), maybe sent stale. */
const step = fc.record({
  to: fc.constantFrom(...JobStatus.all),
  staleBy: fc.option(
    fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0),
    { nil: undefined, freq: 4 }
  ),
  dt: fc.nat({ max: 60_000 })
})

describe("status changes through Job.transitionAt and the memory store", () => {
  it("property: random changes are accepted exactly as documented, bump revision by one, and keep the instants true", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<JobStatus.JobStatus>("New", "Submitted"),
        fc.array(step, { minLength: 1, maxLength: 30 }),
        (first, steps) =>
          Effect.runSync(
            Effect.gen(function* () {
              const store = yield* JobStore.JobStore
              const created = 1_700_000_000_000
              const initial: Job.Job = {
                id: "j0123456789abcdef0123456789abcdef" as Job.Job["id"],
                service: SampleJobs.service,
                task: "Buffer",
                status: first,
                user: null,
                created,
                started: null,
                ended: null,
                revision: 1,
                inputs: {},
                results: {},
                messages: [],
                progress: null,
                expires: null
              }
              yield* store.create(initial)
              // The model: what the history so far says `started` and `ended` must be.
              let started: number | null = null
              let ended: number | null = null
              let now = created
              for (const { to, staleBy, dt } of steps) {
                now += dt
                const stored = yield* store.get(initial.id)
                const moved = Job.transitionAt(stored, to, now)
                // A refused change is still sent, forged, to check that the store refuses it too.
                const candidate = Result.isSuccess(moved) ? moved.success : { ...stored, status: to }
                const sentRevision = stored.revision + (staleBy ?? 0)
                const written = yield* Effect.result(store.update(sentRevision, candidate))
                const after = yield* store.get(initial.id)
                const documented = spec[stored.status].includes(to)
                assert.strictEqual(Result.isSuccess(moved), documented, `transitionAt ${stored.status} → ${to}`)
                if (staleBy !== undefined) {
                  assert.isTrue(Result.isFailure(written), "a stale revision was accepted")
                  if (Result.isFailure(written)) assert.strictEqual(written.failure._tag, "StaleRevision")
                } else if (to !== stored.status) {
                  assert.strictEqual(Result.isSuccess(written), documented, `store ${stored.status} → ${to}`)
                  if (Result.isFailure(written)) assert.strictEqual(written.failure._tag, "InvalidTransition")
                }
                if (Result.isFailure(written)) {
                  assert.deepStrictEqual(after, stored, "a refused change altered the stored job")
                  continue
                }
                // A write that keeps the status (other fields) is an ordinary update; a status change never
                // leaves a finished job.
                if (to !== stored.status)
                  assert.isFalse(specTerminal.includes(stored.status), `a ${stored.status} job moved`)
                assert.strictEqual(after.revision, stored.revision + 1)
                assert.deepStrictEqual(after, written.success)
                if (to !== stored.status && to === "Executing") started = now
                if (to !== stored.status && specQueued.includes(to)) started = null
                if (to !== stored.status && specTerminal.includes(to)) ended = now
                assert.strictEqual(after.started, started, "started is set iff the job executed since it was queued")
                assert.strictEqual(after.ended, ended, "ended is set iff the job is finished")
                assert.strictEqual(after.status, to)
              }
            }).pipe(Effect.provide(JobStore.JobStore.layerMemory))
          )
      ),
      { numRuns: 500 }
    )
  })

  it("fromOgc: the status an OGC status stands for is one with that OGC status, terminal where there is one", () => {
    for (const ogc of JobStatus.ogcStatuses) {
      const status = JobStatus.fromOgc(ogc)
      assert.strictEqual(JobStatus.ogcStatus(status), ogc)
      const anyTerminal = JobStatus.all.some((s) => JobStatus.ogcStatus(s) === ogc && JobStatus.isTerminal(s))
      assert.strictEqual(JobStatus.isTerminal(status), anyTerminal, ogc)
    }
    assert.deepStrictEqual(JobStatus.ogcStatuses.map(JobStatus.fromOgc), [
      "New",
      "Executing",
      "Succeeded",
      "Failed",
      "Cancelled"
    ])
  })
})
