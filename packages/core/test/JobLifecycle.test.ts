import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Entropy, type Job, JobLifecycle, JobStatus } from "../src/index.ts"
import { Arbitraries, SampleJobs } from "../src/testing/index.ts"

// The spec, written out by hand rather than read from the table (DESIGN.md, the job model).
const heldBySpec: ReadonlyArray<JobStatus.JobStatus> = ["Executing", "Cancelling", "Deleting"]
const queuedBySpec: ReadonlyArray<JobStatus.JobStatus> = ["New", "Submitted", "Waiting"]
const terminalBySpec: ReadonlyArray<JobStatus.JobStatus> = ["Succeeded", "Failed", "TimedOut", "Cancelled", "Deleted"]

const outcome: fc.Arbitrary<JobLifecycle.Outcome> = fc.oneof(
  fc.record({
    _tag: fc.constant("Succeeded" as const),
    results: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }),
      fc.record({ dataType: fc.constant("GPString"), value: fc.string() }),
      { maxKeys: 3 }
    )
  }),
  fc.record({ _tag: fc.constant("Failed" as const), error: fc.string({ maxLength: 30 }) }),
  fc.constant({ _tag: "TimedOut" as const }),
  fc.constant({ _tag: "Cancelled" as const }),
  fc.record({ _tag: fc.constant("Interrupted" as const), attempts: fc.integer({ min: 0, max: 5 }) })
)

const settings: fc.Arbitrary<JobLifecycle.Settings> = fc.record({
  retentionMs: fc.integer({ min: 0, max: 30 * 86_400_000 }),
  maxExecutionTimeMs: fc.integer({ min: 1, max: 86_400_000 }),
  retryable: fc.boolean(),
  maxAttempts: fc.integer({ min: 1, max: 5 })
})

const takeover: fc.Arbitrary<JobLifecycle.Takeover> = fc.record({
  node: fc.option(fc.constantFrom("gis-node-1", "worker-b"), { nil: null }),
  restart: fc.boolean(),
  attempts: fc.integer({ min: 0, max: 5 })
})

/** Whether an interrupted run with `attempts` gets another (retryable with attempts left). */
const retries = (s: JobLifecycle.Settings, attempts: number) => s.retryable && attempts < s.maxAttempts

/** A job and an instant at or after everything it has recorded. */
const jobAndNow = Arbitraries.job.chain((job) =>
  fc
    .nat({ max: 7_200_000 })
    .map((later) => ({ job, now: Math.max(job.created, job.started ?? 0, job.ended ?? 0) + later }))
)

/** The job's own log is kept, and every new message is stamped now. */
const assertLogExtended = (before: Job.Job, after: Job.Job, now: number) => {
  assert.deepStrictEqual(after.messages.slice(0, before.messages.length), before.messages)
  for (const m of after.messages.slice(before.messages.length)) assert.strictEqual(m.time, now)
}

/** Each status the result may have: a table successor, or Cancelled through Cancelling. */
const assertReachable = (from: JobStatus.JobStatus, to: JobStatus.JobStatus) =>
  assert.isTrue(
    JobStatus.canTransition(from, to) ||
      (JobStatus.canTransition(from, "Cancelling") && JobStatus.canTransition("Cancelling", to)),
    `${from} → ${to}`
  )

/** Terminal results end now; all but Deleted expire after the retention; nothing else has ended or expires. */
const assertInstants = (next: Job.Job, now: number, retentionMs: number) => {
  if (terminalBySpec.includes(next.status)) {
    assert.strictEqual(next.ended, now)
    assert.isNull(next.progress)
    if (next.status !== "Deleted") assert.strictEqual(next.expires, now + retentionMs)
  } else {
    assert.isNull(next.ended)
    assert.isNull(next.expires)
  }
}

const anySettings: JobLifecycle.Settings = { retentionMs: 1, maxExecutionTimeMs: 1, retryable: true, maxAttempts: 3 }

describe("JobLifecycle.finish", () => {
  it("property: the end of a run is a legal successor with the instants and the message of its outcome", () => {
    fc.assert(
      fc.property(jobAndNow, outcome, settings, ({ job, now }, o, s) => {
        const result = JobLifecycle.finishAt(job, o, s, now)
        if (!heldBySpec.includes(job.status)) {
          assert.isTrue(Result.isFailure(result), `finished a ${job.status} job`)
          return
        }
        if (Result.isFailure(result)) return assert.fail(`refused ${job.status}: ${result.failure.message}`)
        const next = result.success
        assertReachable(job.status, next.status)
        assertInstants(next, now, s.retentionMs)
        assertLogExtended(job, next, now)
        assert.strictEqual(next.revision, job.revision, "the store, not the policy, advances revision")
        const added = next.messages.slice(job.messages.length).map((m) => [m.level, m.description])
        const expected: JobStatus.JobStatus =
          job.status === "Deleting"
            ? "Deleted"
            : job.status === "Cancelling" || o._tag === "Cancelled"
              ? "Cancelled"
              : o._tag === "Interrupted"
                ? retries(s, o.attempts)
                  ? "Submitted"
                  : "Failed"
                : o._tag
        assert.strictEqual(next.status, expected)
        switch (expected) {
          case "Deleted":
            assert.deepStrictEqual(added, [])
            break
          case "Cancelled":
            assert.deepStrictEqual(added.length, 1)
            assert.strictEqual(added[0]?.[0], "warning")
            assert.strictEqual(
              added[0]?.[1],
              `Cancelled at ${new Date(now).toUTCString()} ${JobLifecycle.elapsed(job, now)}`
            )
            break
          case "Submitted":
            assert.deepStrictEqual(added, [
              [
                "warning",
                `Interrupted by server shutdown; queued again (attempt ${o._tag === "Interrupted" ? o.attempts : -1} of ${s.maxAttempts}).`
              ]
            ])
            assert.isNull(next.started, "queued again: it has not started")
            break
          case "Failed":
            assert.deepStrictEqual(
              added,
              o._tag === "Failed"
                ? [
                    ["error", o.error],
                    ["error", `Failed at ${new Date(now).toUTCString()} ${JobLifecycle.elapsed(job, now)}`]
                  ]
                : s.retryable
                  ? [
                      [
                        "error",
                        `Interrupted by server shutdown (attempt ${o._tag === "Interrupted" ? o.attempts : -1} of ${s.maxAttempts}, none left).`
                      ]
                    ]
                  : [["error", "Interrupted by server shutdown."]]
            )
            break
          case "TimedOut":
            assert.deepStrictEqual(added, [["error", JobLifecycle.timedOutMessage(s.maxExecutionTimeMs)]])
            assert.include(added[0]?.[1], ` ${Math.round(s.maxExecutionTimeMs / 1000)} seconds.`)
            break
          case "Succeeded":
            assert.deepStrictEqual(next.results, o._tag === "Succeeded" ? o.results : {})
            assert.deepStrictEqual(added, [
              ["informative", `Succeeded at ${new Date(now).toUTCString()} ${JobLifecycle.elapsed(job, now)}`]
            ])
            break
          default:
            assert.fail(`unexpected ${expected}`)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("property: requeueing happens only for retryable tasks interrupted while executing", () => {
    fc.assert(
      fc.property(jobAndNow, outcome, settings, ({ job, now }, o, s) => {
        const result = JobLifecycle.finishAt(job, o, s, now)
        const requeued = Result.isSuccess(result) && result.success.status === "Submitted"
        assert.strictEqual(requeued, o._tag === "Interrupted" && retries(s, o.attempts) && job.status === "Executing")
      }),
      { numRuns: 500 }
    )
  })

  it("writes the texts the engine has always written", () => {
    assert.strictEqual(
      JobLifecycle.timedOutMessage(600_000),
      "Job timed out: it ran longer than the service's maximum execution time of 600 seconds."
    )
    const job = { created: 1_000, started: 1_637_004_585_000 } as Job.Job
    assert.strictEqual(JobLifecycle.elapsed(job, 1_637_004_589_250), "(Elapsed Time: 4.25 seconds)")
    assert.strictEqual(JobLifecycle.startMessage(job), "Start Time: Mon, 15 Nov 2021 19:29:45 GMT")
  })

  it.effect("in Effect form it finishes at the Clock's time", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_637_004_585_000)
      const executing = yield* SampleJobs.make("Executing")
      yield* TestClock.adjust("4 seconds")
      const done = yield* JobLifecycle.finish(
        executing,
        { _tag: "Succeeded", results: { Out: { dataType: "GPString", value: "x" } } },
        { retentionMs: 60_000, maxExecutionTimeMs: 600_000, retryable: false, maxAttempts: 1 }
      )
      assert.strictEqual(done.status, "Succeeded")
      assert.strictEqual(done.ended, 1_637_004_589_000)
      assert.strictEqual(done.expires, 1_637_004_649_000)
      assert.strictEqual(
        done.messages.at(-1)?.description,
        "Succeeded at Mon, 15 Nov 2021 19:29:49 GMT (Elapsed Time: 4.00 seconds)"
      )
      const refused = yield* Effect.flip(JobLifecycle.finish(done, { _tag: "TimedOut" }, anySettings))
      assert.strictEqual(refused._tag, "InvalidTransition")
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )
})

describe("JobLifecycle.recover", () => {
  it("property: an orphan is removed, cancelled, queued again or failed — and only held jobs are orphans", () => {
    fc.assert(
      fc.property(jobAndNow, settings, takeover, ({ job, now }, s, t) => {
        const result = JobLifecycle.recoverAt(job, s, t, now)
        if (!heldBySpec.includes(job.status)) return assert.isTrue(Result.isFailure(result), job.status)
        if (Result.isFailure(result)) return assert.fail(result.failure.message)
        const decision = result.success
        if (job.status === "Deleting") return assert.strictEqual(decision._tag, "Remove")
        if (decision._tag !== "Write") return assert.fail("only a deleting job is removed")
        const next = decision.job
        assertReachable(job.status, next.status)
        assertInstants(next, now, s.retentionMs)
        assertLogExtended(job, next, now)
        const added = next.messages.slice(job.messages.length).map((m) => [m.level, m.description])
        const why = t.restart
          ? "interrupted by server restart"
          : `interrupted: node ${t.node ?? "(unknown)"} stopped responding`
        const attempt = `attempt ${t.attempts} of ${s.maxAttempts}`
        if (job.status === "Cancelling") {
          assert.strictEqual(next.status, "Cancelled")
          assert.deepStrictEqual(added, [["warning", `Cancelled: ${why}.`]])
        } else if (retries(s, t.attempts)) {
          assert.strictEqual(next.status, "Submitted")
          assert.isNull(next.started)
          assert.deepStrictEqual(added, [["warning", `${why}; queued again (${attempt})`]])
        } else {
          assert.strictEqual(next.status, "Failed")
          assert.deepStrictEqual(added, [["error", s.retryable ? `${why} (${attempt}, none left)` : why]])
        }
      }),
      { numRuns: 500 }
    )
  })

  it.effect("in Effect form it recovers at the Clock's time", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(2_000_000_000_000)
      const job = yield* SampleJobs.make("Executing")
      yield* TestClock.adjust("1 minute")
      const decision = yield* JobLifecycle.recover(
        job,
        { retentionMs: 10, retryable: false, maxAttempts: 1 },
        { node: "gis-node-2", restart: false, attempts: 1 }
      )
      assert.strictEqual(decision._tag, "Write")
      if (decision._tag === "Write") {
        assert.strictEqual(decision.job.status, "Failed")
        assert.strictEqual(decision.job.messages.at(-1)?.description, "interrupted: node gis-node-2 stopped responding")
        assert.strictEqual(decision.job.ended, 2_000_000_060_000)
        assert.strictEqual(decision.job.expires, 2_000_000_060_010)
      }
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(4)))
  )
})

describe("JobLifecycle.cancel", () => {
  it("property: queued jobs are cancelled at once, executing ones through Cancelling, others refused", () => {
    fc.assert(
      fc.property(jobAndNow, settings, ({ job, now }, s) => {
        const result = JobLifecycle.cancelAt(job, s, now)
        if (Result.isFailure(result)) {
          assert.notInclude([...queuedBySpec, "Executing", "Cancelling"], job.status)
          assert.strictEqual(result.failure.from, job.status)
          assert.strictEqual(result.failure.to, "Cancelled")
          return
        }
        const decision = result.success
        const added = decision.job.messages.slice(job.messages.length).map((m) => [m.level, m.description])
        if (queuedBySpec.includes(job.status)) {
          assert.strictEqual(decision._tag, "Cancelled")
          assert.strictEqual(decision.job.status, "Cancelled")
          assertInstants(decision.job, now, s.retentionMs)
          assert.deepStrictEqual(added, [["warning", "Job cancelled."]])
        } else if (job.status === "Executing") {
          assert.strictEqual(decision._tag, "Cancelling")
          assert.strictEqual(decision.job.status, "Cancelling")
          assertInstants(decision.job, now, s.retentionMs)
          assert.strictEqual(decision.job.started, job.started)
          assert.deepStrictEqual(added, [["warning", "Cancelling job."]])
        } else {
          assert.strictEqual(job.status, "Cancelling")
          assert.strictEqual(decision._tag, "AlreadyCancelling")
          assert.strictEqual(decision.job, job)
        }
      }),
      { numRuns: 500 }
    )
  })
})

describe("JobLifecycle.remove and expiry", () => {
  it("property: finished jobs are removed now, queued ones after a Deleting write, running ones by their runner", () => {
    fc.assert(
      fc.property(jobAndNow, ({ job, now }) => {
        const decision = JobLifecycle.removeAt(job, now)
        if (terminalBySpec.includes(job.status) || job.status === "Deleting") {
          return assert.strictEqual(decision._tag, "Remove")
        }
        assert.strictEqual(decision._tag, queuedBySpec.includes(job.status) ? "RemoveAfterWrite" : "AwaitRunner")
        if (decision._tag !== "Remove") {
          assert.strictEqual(decision.job.status, "Deleting")
          assert.strictEqual(decision.job.revision, job.revision)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("property: a job expires exactly when it is finished and its expiry instant has passed", () => {
    fc.assert(
      fc.property(Arbitraries.job, fc.integer({ min: -10_000, max: 10_000 }), (job, offset) => {
        const now = (job.expires ?? job.created) + offset
        assert.strictEqual(
          JobLifecycle.isExpiredAt(job, now),
          terminalBySpec.includes(job.status) && job.expires !== null && offset >= 0
        )
      }),
      { numRuns: 300 }
    )
  })

  it("a running tool takes progress while executing and is stopped when its job is cancelled, deleted or gone", () => {
    for (const status of JobStatus.all) {
      const job = { status } as Job.Job
      assert.strictEqual(JobLifecycle.takesProgress(job), status === "Executing", status)
      assert.strictEqual(JobLifecycle.mustStop(job), status === "Cancelling" || status === "Deleting", status)
    }
    assert.isTrue(JobLifecycle.mustStop(undefined))
  })
})
