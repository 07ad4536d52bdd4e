/**
 * The JobQueue contract: named Effects that every queue adapter (memory, SQLite, PostgreSQL) runs unchanged, each on
 * a fresh, empty store with its queue. They need `JobStore`, `JobQueue` and `Entropy`, and no test runner:
 *
 * ```ts
 * for (const [name, test] of Object.entries(JobQueueSuite.cases)) {
 *   it.effect(name, () => test.pipe(Effect.provide([myStorageLayer, Entropy.layerSeeded(7)])))
 * }
 * ```
 *
 * @module
 */
import { Effect } from "effect"
import type { Entropy } from "../Entropy.ts"
import * as Job from "../Job.ts"
import { type Claimed, type ClaimRequest, JobQueue, type Owner } from "../JobQueue.ts"
import { JobStore } from "../JobStore.ts"
import type { ServiceRef } from "../ServiceRef.ts"
import { type ContractViolation, expect, failsWith, geometry, same, unicode, utilities } from "./Contract.ts"

const base = 1_700_000_000_000

/** A Submitted job created `offset` ms after a fixed base. */
const queued = (offset: number, service: ServiceRef = geometry) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const job = yield* Job.make({ service, task: "Buffer", user: "analyst" })
    return yield* store.create({ ...job, created: base + offset })
  })

const limits = (geometryMax: number, utilitiesMax = 10): ClaimRequest["limits"] => [
  { service: geometry, max: geometryMax },
  { service: utilities, max: utilitiesMax }
]

const ids = (jobs: ReadonlyArray<Job.Job | Claimed>) => jobs.map((j) => ("claim" in j ? j.job.id : j.id))
const jobsOf = (claimed: ReadonlyArray<Claimed>) => claimed.map((c) => c.job)
const owner = (id: string) => ({ id, node: `node-${id}`, host: "h", pid: 1 })

/** Moves a stored job on to `to` (through the store's guard). */
const move = (id: string, to: Job.Job["status"]) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const job = yield* store.get(id)
    return yield* store.update(job.revision, yield* Job.transition(job, to))
  })

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<Record<string, Effect.Effect<void, ContractViolation, JobStore | JobQueue | Entropy>>> = {
  "claim takes the oldest first, FIFO within a service, never past a service's limit": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = yield* JobQueue
      const g = [yield* queued(0), yield* queued(1000), yield* queued(2000)]
      const u = yield* queued(3000, utilities)
      const first = jobsOf(yield* queue.claim({ owner: "e1", max: 10, limits: limits(2) }))
      yield* same(ids(first), [g[0]?.id, g[1]?.id, u.id], "claimed: two of Geometry (its limit) and Utilities")
      for (const job of first) {
        yield* expect(job.status === "Executing" && job.started !== null, `${job.id} comes back Executing, started`)
        yield* same(yield* store.get(job.id), job, "a claimed job as stored")
        const before = [...g, u].find((j) => j.id === job.id)
        yield* expect(job.revision === (before?.revision ?? 0) + 1, "a claim is one revision")
      }
      yield* same(ids(yield* queue.claim({ owner: "e1", max: 10, limits: limits(2) })), [], "nothing while at limit")
      yield* move(g[0]?.id ?? "", "Succeeded")
      yield* same(
        ids(yield* queue.claim({ owner: "e2", max: 10, limits: limits(2) })),
        [g[2]?.id],
        "a finished job frees its service's slot, for any owner"
      )
    })
  ),
  "a claim never starts a job before its submission": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      // Submitted "later" than the claimer's clock reads (the test clock, or a claim that read its time before it
      // waited on another node's lock): the start is the submission's time, never earlier.
      const job = yield* queued(5000)
      const [claimed] = yield* queue.claim({ owner: "e1", max: 1, limits: limits(1) })
      yield* expect(claimed?.job.id === job.id, "the job is claimed")
      const started = claimed?.job.started ?? 0
      yield* expect(started >= job.created, `started ${started} is not before submitted ${job.created}`)
    })
  ),
  "a service at its limit does not block the jobs of others queued after it": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 5; i++) yield* queued(i)
      const u = yield* queued(10, utilities)
      const claimed = yield* queue.claim({ owner: "e1", max: 3, limits: limits(1) })
      yield* expect(claimed.length === 2, `one of Geometry and the Utilities job (got ${claimed.length})`)
      yield* expect(claimed.at(-1)?.job.id === u.id, "the Utilities job is claimed past Geometry's queue")
    })
  ),
  "claim honours max, 0 claims nothing, and a service without a limit is never claimed": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 4; i++) yield* queued(i)
      yield* queued(10, unicode)
      yield* same(ids(yield* queue.claim({ owner: "e1", max: 0, limits: limits(9) })), [], "max 0")
      yield* expect((yield* queue.claim({ owner: "e1", max: 3, limits: limits(9) })).length === 3, "max 3 takes 3")
      const rest = yield* queue.claim({ owner: "e1", max: 10, limits: limits(9) })
      yield* expect(rest.length === 1, "the last Geometry job; the unlisted service's job stays queued")
      const counts = yield* queue.countByStatus()
      yield* same(counts, { Submitted: 1, Executing: 4 }, "counts after the claims")
    })
  ),
  "concurrent claims never take a job twice": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 30; i++) yield* queued(i, i % 2 === 0 ? geometry : utilities)
      const owners = ["a", "b", "c", "d", "e", "f"]
      const claims = yield* Effect.all(
        owners.map((owner) => queue.claim({ owner, max: 4, limits: limits(30, 30) })),
        { concurrency: "unbounded" }
      )
      const all = claims.flatMap(ids)
      yield* expect(new Set(all).size === all.length, `no job claimed twice (${all.length} claims)`)
      yield* expect(all.length === 24, `every owner got its 4 (got ${all.length})`)
      const limited = yield* Effect.all(
        owners.map((owner) => queue.claim({ owner, max: 10, limits: limits(0, 13) })),
        { concurrency: "unbounded" }
      )
      // 12 Utilities jobs were claimed above, so the limit of 13 leaves room for exactly one more, across owners.
      const running = (yield* queue.countByStatus(utilities)).Executing ?? 0
      yield* expect(running === 13, `Utilities' limit holds across concurrent owners (${running} executing)`)
      yield* expect(limited.flat().length === 1, "exactly one claim beyond, among six concurrent owners")
    })
  ),
  "held jobs count against a limit, Cancelling ones too": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 3; i++) yield* queued(i)
      const [a] = yield* queue.claim({ owner: "e1", max: 1, limits: limits(2) })
      yield* move(a?.job.id ?? "", "Cancelling")
      yield* expect((yield* queue.claim({ owner: "e2", max: 5, limits: limits(2) })).length === 1, "one slot left")
      yield* move(a?.job.id ?? "", "Cancelled")
      yield* expect((yield* queue.claim({ owner: "e2", max: 5, limits: limits(2) })).length === 1, "freed by Cancelled")
    })
  ),
  "orphans are the held jobs of owners gone by heartbeat or by release, never self's; liveness is the lease alone":
    Effect.orDie(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        for (let i = 0; i < 3; i++) yield* queued(i)
        // The same host and pid for all: a pid says nothing of liveness (processes in their own pid namespaces).
        for (const id of ["self", "fresh", "stale"]) yield* queue.heartbeat(owner(id), base)
        const claimOne = (id: string) =>
          Effect.map(queue.claim({ owner: id, max: 1, limits: limits(9) }), (jobs) => jobs[0]?.job.id ?? "")
        const mine = yield* claimOne("self")
        yield* claimOne("fresh")
        const stale = yield* claimOne("stale")
        yield* move(stale, "Cancelling")
        yield* queue.heartbeat(owner("fresh"), base + 9_000)
        const at = { self: "self", now: base + 10_000, leaseMs: 5_000 }
        const found = yield* queue.orphans(at)
        yield* same(
          found.map((o) => [o.job.id, o.owner, o.job.status, o.claim, o.attempts, o.node]),
          [[stale, "stale", "Cancelling", { owner: "stale", number: 1 }, 1, "node-stale"]],
          "only the stale owner's job, with its claim, attempts and node (self's is never an orphan, though as old)"
        )
        yield* expect(
          (yield* queue.orphans({ ...at, leaseMs: 10_001 })).length === 0,
          "a heartbeat younger than the lease"
        )
        yield* queue.release("fresh")
        const released = yield* queue.orphans(at)
        yield* expect(released.length === 2, "a released owner's job is orphaned")
        yield* expect(
          released.some((o) => o.owner === "fresh" && o.node === null && o.claim?.owner === "fresh"),
          "without its record the node is unknown, the claim still the job's"
        )
        yield* same(
          (yield* queue.owners).map((o) => [o.id, o.node]).sort(),
          [
            ["self", "node-self"],
            ["stale", "node-stale"]
          ],
          "owners after release, with their node names"
        )
        yield* expect(!(yield* queue.orphans(at)).some((o) => o.job.id === mine), "self's job again")
      })
    ),
  "a gone owner's record is forgotten once it holds no job, never while it holds one or after a newer heartbeat":
    Effect.orDie(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        yield* queued(0)
        yield* queue.heartbeat(owner("dead"), base)
        yield* queue.heartbeat(owner("idle"), base)
        const [held] = yield* queue.claim({ owner: "dead", max: 1, limits: limits(9) })
        const recordOf = (id: string) => Effect.map(queue.owners, (all) => all.find((o) => o.id === id) as Owner)
        yield* expect(!(yield* queue.forget(yield* recordOf("dead"))), "an owner holding a job is kept")
        const idle = yield* recordOf("idle")
        yield* queue.heartbeat(owner("idle"), base + 1_000)
        yield* expect(!(yield* queue.forget(idle)), "an owner that heartbeated since it was read is kept")
        yield* expect(yield* queue.forget(yield* recordOf("idle")), "an owner holding nothing is forgotten")
        yield* move(held?.job.id ?? "", "Cancelling")
        yield* expect(!(yield* queue.forget(yield* recordOf("dead"))), "a Cancelling job is still held")
        yield* move(held?.job.id ?? "", "Cancelled")
        yield* expect(yield* queue.forget(yield* recordOf("dead")), "once its job ended, the owner is forgotten")
        yield* same((yield* queue.owners).length, 0, "no record left")
      })
    ),
  "a claim carries a fencing token: writes under it land, writes under any other are refused and change nothing":
    Effect.orDie(
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = yield* JobQueue
        const job = yield* queued(0)
        const [claimed] = yield* queue.claim({ owner: "e1", max: 1, limits: limits(9) })
        if (claimed === undefined) return yield* expect(false, "a job claimed")
        yield* same(claimed.claim, { owner: "e1", number: 1 }, "the first claim of a job is number 1 of its owner")
        const progressed = yield* queue.updateClaimed(
          claimed.claim,
          claimed.job.revision,
          Job.setProgress(claimed.job, 10, "a tenth")
        )
        yield* expect(progressed.revision === claimed.job.revision + 1, "a write under the claim lands, one revision")
        yield* same((yield* store.get(job.id)).progress, { type: "step", message: "a tenth", percent: 10 }, "written")
        for (const other of [
          { owner: "e2", number: 1 },
          { owner: "e1", number: 2 },
          { owner: "e1", number: 0 }
        ]) {
          yield* failsWith(
            queue.updateClaimed(other, progressed.revision, Job.setProgress(progressed, 50, "half")),
            "LostClaim",
            `a write under ${other.owner}#${other.number}`
          )
        }
        yield* same(yield* store.get(job.id), progressed, "refused writes changed nothing")
        yield* failsWith(
          queue.updateClaimed(claimed.claim, claimed.job.revision, Job.setProgress(claimed.job, 20, "old")),
          "StaleRevision",
          "a write under the claim at an old revision"
        )
        yield* same(
          yield* queue.claimsOf("e1"),
          [{ jobId: job.id, claim: { owner: "e1", number: 1 } }],
          "claimsOf lists the owner's held jobs with their claims"
        )
        yield* same(yield* queue.claimsOf("e2"), [], "and nothing of others")
        const done = yield* queue.updateClaimed(
          claimed.claim,
          progressed.revision,
          yield* Job.transition(progressed, "Succeeded")
        )
        yield* expect(done.status === "Succeeded", "the run's end lands under its claim")
        yield* same(yield* queue.claimsOf("e1"), [], "a job leaving the held statuses is no longer the owner's")
        yield* failsWith(
          queue.updateClaimed(claimed.claim, done.revision, { ...done, expires: base }),
          "LostClaim",
          "a write under the claim of a job no longer held"
        )
      })
    ),
  "after a takeover and a new claim, the old claim's writes are refused and change nothing; the new owner's land":
    Effect.orDie(
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = yield* JobQueue
        const job = yield* queued(0)
        const gone = yield* queued(1)
        yield* queue.heartbeat(owner("a"), base)
        yield* queue.heartbeat(owner("b"), base)
        const claimedByA = yield* queue.claim({ owner: "a", max: 2, limits: limits(9) })
        const [old, oldGone] = claimedByA
        if (old === undefined || oldGone === undefined) return yield* expect(false, "two jobs claimed by a")
        // a stops heartbeating (paused); b's lease is renewed and b takes a's jobs over.
        yield* queue.heartbeat(owner("b"), base + 20_000)
        const orphans = yield* queue.orphans({ self: "b", now: base + 20_000, leaseMs: 10_000 })
        yield* same(ids(orphans.map((o) => o.job)), [job.id, gone.id], "a's jobs are b's orphans")
        const orphan = orphans[0]
        const orphanGone = orphans[1]
        if (orphan?.claim == null || orphanGone?.claim == null) return yield* expect(false, "orphans with claims")
        yield* same(orphan.claim, old.claim, "an orphan comes with the claim it is held under")
        // The takeover is itself a write under the orphan's claim: one job queued again, the other Failed.
        const requeued = yield* queue.updateClaimed(
          orphan.claim,
          orphan.job.revision,
          yield* Job.transition(orphan.job, "Submitted")
        )
        const failed = yield* queue.updateClaimed(
          orphanGone.claim,
          orphanGone.job.revision,
          yield* Job.transition(orphanGone.job, "Failed")
        )
        yield* failsWith(
          queue.updateClaimed(orphan.claim, requeued.revision, { ...requeued, status: "Failed" }),
          "LostClaim",
          "a second takeover under the same claim"
        )
        yield* same(yield* queue.claimsOf("a"), [], "the taken-over jobs are no longer a's")
        const [again] = yield* queue.claim({ owner: "b", max: 5, limits: limits(9) })
        if (again === undefined) return yield* expect(false, "the queued-again job claimed by b")
        yield* same(again.claim, { owner: "b", number: 2 }, "the new claim is the job's second")
        // a wakes up and writes progress and its result with its old token, even at the latest revision.
        const latest = yield* store.get(job.id)
        for (const write of [
          Job.setProgress(latest, 90, "a's progress"),
          Job.setResults(yield* Job.transition(latest, "Succeeded"), { out: { dataType: "GPString", value: "a" } })
        ]) {
          yield* failsWith(
            queue.updateClaimed(old.claim, latest.revision, write),
            "LostClaim",
            "a's write after the takeover"
          )
        }
        const latestGone = yield* store.get(gone.id)
        yield* failsWith(
          queue.updateClaimed(oldGone.claim, latestGone.revision, Job.setProgress(latestGone, 90, "late")),
          "LostClaim",
          "a's write to its job that was Failed"
        )
        yield* same(yield* store.get(job.id), latest, "a's refused writes changed nothing")
        yield* same(yield* store.get(gone.id), failed, "nor on the Failed one")
        const finished = yield* queue.updateClaimed(
          again.claim,
          latest.revision,
          Job.setResults(yield* Job.transition(latest, "Succeeded"), { out: { dataType: "GPString", value: "b" } })
        )
        yield* expect(finished.status === "Succeeded", "b's result lands")
        yield* same((yield* store.get(job.id)).results, { out: { dataType: "GPString", value: "b" } }, "b's result")
      })
    ),
  "claim numbers grow with every claim of a job, across owners: a job's attempts": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      const job = yield* queued(0)
      const numbers: Array<number> = []
      for (const id of ["a", "b", "a"]) {
        const [claimed] = yield* queue.claim({ owner: id, max: 1, limits: limits(9) })
        if (claimed === undefined) return yield* expect(false, "claimed")
        numbers.push(claimed.claim.number)
        yield* queue.updateClaimed(claimed.claim, claimed.job.revision, yield* Job.transition(claimed.job, "Submitted"))
      }
      yield* same(numbers, [1, 2, 3], "claims 1, 2, 3")
      yield* queue.claim({ owner: "c", max: 1, limits: limits(9) })
      const [orphan] = yield* queue.orphans({ self: "x", now: base, leaseMs: 1 })
      yield* expect(orphan?.job.id === job.id && orphan.attempts === 4, "an orphan's attempts are its claims")
    })
  ),
  "expired finds finished jobs at or past their expiry, oldest expiry first, at most limit": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const queue = yield* JobQueue
      const finishedAt = (offset: number, expires: number | null) =>
        Effect.gen(function* () {
          const job = yield* queued(offset)
          const done = yield* Job.transition(job, "Cancelled")
          return yield* store.update(job.revision, { ...done, expires })
        })
      const late = yield* finishedAt(0, base + 3000)
      const early = yield* finishedAt(1, base + 1000)
      yield* finishedAt(2, null)
      yield* finishedAt(3, base + 9000)
      const active = yield* queued(4)
      yield* store.update(active.revision, { ...active, expires: base })
      yield* same(ids(yield* queue.expired(base + 999, 10)), [], "nothing before the first expiry")
      yield* same(ids(yield* queue.expired(base + 1000, 10)), [early.id], "an expiry is inclusive")
      yield* same(ids(yield* queue.expired(base + 5000, 10)), [early.id, late.id], "oldest expiry first")
      yield* same(ids(yield* queue.expired(base + 5000, 1)), [early.id], "at most limit")
    })
  ),
  "countByStatus counts every status, for all services or one": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      yield* same(yield* queue.countByStatus(), {}, "an empty store")
      for (let i = 0; i < 3; i++) yield* queued(i)
      const u = yield* queued(5, utilities)
      yield* move(u.id, "Cancelled")
      yield* queue.claim({ owner: "e", max: 1, limits: limits(5) })
      yield* same(yield* queue.countByStatus(), { Submitted: 2, Executing: 1, Cancelled: 1 }, "all services")
      yield* same(yield* queue.countByStatus(utilities), { Cancelled: 1 }, "System/Utilities")
      yield* same(yield* queue.countByStatus({ name: "Utilities" }), {}, "no folder is another service")
    })
  )
}
