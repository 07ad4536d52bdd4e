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
import { type ClaimRequest, JobQueue } from "../JobQueue.ts"
import { JobStore } from "../JobStore.ts"
import type { ServiceRef } from "../ServiceRef.ts"
import { type ContractViolation, expect, geometry, same, unicode, utilities } from "./Contract.ts"

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

const ids = (jobs: ReadonlyArray<Job.Job>) => jobs.map((j) => j.id)

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
      const first = yield* queue.claim({ owner: "e1", max: 10, limits: limits(2) })
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
  "a service at its limit does not block the jobs of others queued after it": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 5; i++) yield* queued(i)
      const u = yield* queued(10, utilities)
      const claimed = yield* queue.claim({ owner: "e1", max: 3, limits: limits(1) })
      yield* expect(claimed.length === 2, `one of Geometry and the Utilities job (got ${claimed.length})`)
      yield* expect(claimed.at(-1)?.id === u.id, "the Utilities job is claimed past Geometry's queue")
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
      yield* move(a?.id ?? "", "Cancelling")
      yield* expect((yield* queue.claim({ owner: "e2", max: 5, limits: limits(2) })).length === 1, "one slot left")
      yield* move(a?.id ?? "", "Cancelled")
      yield* expect((yield* queue.claim({ owner: "e2", max: 5, limits: limits(2) })).length === 1, "freed by Cancelled")
    })
  ),
  "orphans are the held jobs of owners gone by heartbeat, by release, or named dead; never self's": Effect.orDie(
    Effect.gen(function* () {
      const queue = yield* JobQueue
      for (let i = 0; i < 4; i++) yield* queued(i)
      for (const id of ["self", "fresh", "stale", "dying"]) yield* queue.heartbeat({ id, host: "h", pid: 1 }, base)
      const claimOne = (owner: string) =>
        Effect.map(queue.claim({ owner, max: 1, limits: limits(9) }), (jobs) => jobs[0]?.id ?? "")
      const mine = yield* claimOne("self")
      yield* claimOne("fresh")
      const stale = yield* claimOne("stale")
      const dying = yield* claimOne("dying")
      yield* move(stale, "Cancelling")
      yield* queue.heartbeat({ id: "fresh", host: "h", pid: 1 }, base + 9_000)
      yield* queue.heartbeat({ id: "dying", host: "h", pid: 1 }, base + 9_000)
      const at = { self: "self", now: base + 10_000, leaseMs: 5_000 }
      const found = yield* queue.orphans(at)
      yield* same(
        found.map((o) => [o.job.id, o.owner, o.job.status]),
        [[stale, "stale", "Cancelling"]],
        "only the stale owner's job (self's is never an orphan, though its heartbeat is as old)"
      )
      const named = yield* queue.orphans({ ...at, dead: ["dying"] })
      yield* same(
        named.map((o) => [o.job.id, o.owner]).sort(),
        [
          [dying, "dying"],
          [stale, "stale"]
        ].sort(),
        "an owner named dead is gone at once"
      )
      yield* queue.release("fresh")
      yield* expect((yield* queue.orphans(at)).length === 2, "a released owner's job is orphaned")
      yield* same((yield* queue.owners).map((o) => o.id).sort(), ["dying", "self", "stale"], "owners after release")
      yield* expect(!(yield* queue.orphans(at)).some((o) => o.job.id === mine), "self's job again")
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
