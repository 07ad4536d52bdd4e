import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { JobStatus } from "../src/index.ts"
import { Arbitraries } from "../src/testing/index.ts"

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

  it("property: a path of legal transitions reaches at most one terminal status, and only at its end", () => {
    fc.assert(
      fc.property(Arbitraries.statusPath, (path) => {
        const terminals = path.filter(JobStatus.isTerminal)
        assert.isAtMost(terminals.length, 1)
        if (terminals.length === 1) assert.isTrue(JobStatus.isTerminal(path[path.length - 1] ?? "New"))
        for (let i = 1; i < path.length; i++)
          assert.isTrue(JobStatus.canTransition(path[i - 1] ?? "New", path[i] ?? "New"))
      }),
      { numRuns: 500 }
    )
  })

  it("property: terminal statuses have no successors", () => {
    fc.assert(
      fc.property(fc.constantFrom(...JobStatus.all), fc.constantFrom(...JobStatus.all), (from, to) => {
        if (JobStatus.isTerminal(from)) assert.isFalse(JobStatus.canTransition(from, to))
      })
    )
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
})
