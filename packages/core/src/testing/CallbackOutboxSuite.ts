/**
 * The CallbackOutbox contract: named Effects that every store adapter (memory, SQLite, PostgreSQL) runs unchanged, each
 * on a fresh, empty store with its queue and outbox. They check that the store's own writes — create, update, claim,
 * the fenced update, delete — put the callbacks of core's `Callback` table into the outbox with the change, and that
 * the outbox's claims, leases and marks behave. Runner-agnostic:
 *
 * ```ts
 * for (const [name, test] of Object.entries(CallbackOutboxSuite.cases)) {
 *   it.effect(name, () => test.pipe(Effect.provide([myStorageLayer, Entropy.layerSeeded(7)])))
 * }
 * ```
 *
 * @module
 */
import { Effect } from "effect"
import type * as Callback from "../Callback.ts"
import { CallbackOutbox, type Delivery } from "../CallbackOutbox.ts"
import type { Entropy } from "../Entropy.ts"
import * as Job from "../Job.ts"
import { JobQueue } from "../JobQueue.ts"
import { JobStore } from "../JobStore.ts"
import * as OgcStatusInfo from "../OgcStatusInfo.ts"
import { ContractViolation, expect, geometry, same } from "./Contract.ts"

const receiver = "https://hooks.example.com/geojobs"

/** A subscriber with every URI (or the ones given). */
export const subscriber = (
  uris: Partial<Record<"successUri" | "inProgressUri" | "failedUri", string>> = {
    successUri: `${receiver}/success`,
    inProgressUri: `${receiver}/progress`,
    failedUri: `${receiver}/failed`
  }
): Callback.Subscriber => ({ ...uris, jobsUrl: "https://gis.example.com/ogcapi/jobs" })

const limits = [{ service: geometry, max: 10 }]

/** A Submitted job with a subscriber, stored. */
const subscribed = (s: Callback.Subscriber | null = subscriber()) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    return yield* store.create(
      yield* Job.make({ service: geometry, task: "Buffer", user: "analyst", subscriber: s ?? undefined })
    )
  })

/** Claims the queued jobs as `owner`; answers the claimed one with `id`. */
const claimOne = (id: string, owner = "e1") =>
  Effect.gen(function* () {
    const queue = yield* JobQueue
    const claimed = (yield* queue.claim({ owner, max: 10, limits })).find((c) => c.job.id === id)
    if (claimed === undefined) return yield* new ContractViolation({ expectation: `claim takes job ${id}` })
    return claimed
  })

/** Moves a stored job on to `to` through the store's update. */
const move = (id: string, to: Job.Job["status"]) =>
  Effect.gen(function* () {
    const store = yield* JobStore
    const job = yield* store.get(id)
    return yield* store.update(job.revision, yield* Job.transition(job, to))
  })

const events = (deliveries: ReadonlyArray<Delivery>) => deliveries.map((d) => `${d.event} ${d.uri} ${d.status}`)

const statusOf = (d: Delivery | undefined) =>
  d === undefined ? undefined : OgcStatusInfo.schema.safeParse(JSON.parse(d.body)).data

const only = (deliveries: ReadonlyArray<Delivery>, what: string) =>
  Effect.gen(function* () {
    const [d, ...more] = deliveries
    if (d === undefined || more.length > 0) {
      return yield* new ContractViolation({ expectation: `${what}: one callback, got ${deliveries.length}` })
    }
    return d
  })

/**
 * The contract cases, by name.
 *
 * @category suites
 */
export const cases: Readonly<
  Record<string, Effect.Effect<void, ContractViolation, JobStore | JobQueue | CallbackOutbox | Entropy>>
> = {
  "a job without a subscriber writes no callbacks, whatever happens to it": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const job = yield* subscribed(null)
      yield* claimOne(job.id)
      yield* move(job.id, "Succeeded")
      yield* same(yield* outbox.ofJob(job.id), [], "callbacks of a job without a subscriber")
      yield* same(yield* outbox.claimDue({ owner: "d1", now: Number.MAX_SAFE_INTEGER, leaseMs: 1, max: 10 }), [], "due")
    })
  ),
  "a claim into Executing writes inProgress with the change, once per job (a restart sends no second)": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const queue = yield* JobQueue
      const job = yield* subscribed()
      yield* same(yield* outbox.ofJob(job.id), [], "callbacks of a queued job")
      const first = yield* claimOne(job.id)
      const d = yield* only(yield* outbox.ofJob(job.id), "after the claim")
      yield* same(
        [d.id, d.jobId, d.event, d.uri, d.status, d.attempts, d.lastError, d.delivered],
        [`${job.id}:inProgress`, job.id, "inProgress", `${receiver}/progress`, "pending", 0, null, null],
        "the inProgress callback"
      )
      yield* expect(d.nextAttempt === d.created, "a new callback is due at once")
      const info = statusOf(d)
      yield* same([info?.jobID, info?.status, info?.type], [job.id, "running", "process"], "its statusInfo body")
      // Queued again (a retryable tool interrupted by a restart) and claimed anew: still the one callback.
      const back = yield* queue.updateClaimed(
        first.claim,
        first.job.revision,
        yield* Job.transition(first.job, "Submitted")
      )
      yield* claimOne(back.id, "e2")
      yield* same(events(yield* outbox.ofJob(job.id)), [`inProgress ${receiver}/progress pending`], "after a restart")
    })
  ),
  "Succeeded writes success with the statusInfo and its results link; progress updates write nothing": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const queue = yield* JobQueue
      const job = yield* subscribed()
      const claimed = yield* claimOne(job.id)
      const progressed = yield* queue.updateClaimed(
        claimed.claim,
        claimed.job.revision,
        Job.setProgress(claimed.job, 50, "half way")
      )
      yield* expect((yield* outbox.ofJob(job.id)).length === 1, "a progress update writes no callback")
      yield* queue.updateClaimed(claimed.claim, progressed.revision, yield* Job.transition(progressed, "Succeeded"))
      const all = yield* outbox.ofJob(job.id)
      yield* same(
        events(all),
        [`inProgress ${receiver}/progress pending`, `success ${receiver}/success pending`],
        "callbacks after success"
      )
      const info = statusOf(all[1])
      yield* same(info?.status, "successful", "the success body's status")
      yield* expect(
        info?.links?.some((l) => l.rel === OgcStatusInfo.resultsRel && l.href.endsWith("/results")) === true,
        "the success body links to the results"
      )
    })
  ),
  "Failed, TimedOut and Cancelled write failed (a job's first only); a subscriber's missing URI writes nothing":
    Effect.orDie(
      Effect.gen(function* () {
        const outbox = yield* CallbackOutbox
        const failed = yield* subscribed()
        yield* claimOne(failed.id)
        yield* move(failed.id, "Failed")
        yield* same(
          events(yield* outbox.ofJob(failed.id)),
          [`inProgress ${receiver}/progress pending`, `failed ${receiver}/failed pending`],
          "a failed job's callbacks"
        )
        yield* same(statusOf((yield* outbox.ofJob(failed.id))[1])?.status, "failed", "the failed body's status")
        const timedOut = yield* subscribed(subscriber({ failedUri: `${receiver}/t` }))
        yield* claimOne(timedOut.id)
        yield* move(timedOut.id, "TimedOut")
        yield* same(events(yield* outbox.ofJob(timedOut.id)), [`failed ${receiver}/t pending`], "a timed-out job")
        const cancelled = yield* subscribed()
        yield* move(cancelled.id, "Cancelled")
        const c = yield* only(yield* outbox.ofJob(cancelled.id), "a cancelled queued job")
        yield* same([c.event, statusOf(c)?.status], ["failed", "dismissed"], "a cancelled job's callback")
        const successOnly = yield* subscribed(subscriber({ successUri: `${receiver}/s` }))
        yield* claimOne(successOnly.id)
        yield* move(successOnly.id, "Failed")
        yield* same(yield* outbox.ofJob(successOnly.id), [], "a subscriber with a successUri only, on failure")
      })
    ),
  "claimDue hands a due callback to one claimer until its lease runs out": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const a = yield* subscribed()
      const b = yield* subscribed()
      yield* move(a.id, "Cancelled")
      yield* move(b.id, "Cancelled")
      const now = Math.max(
        ...[...(yield* outbox.ofJob(a.id)), ...(yield* outbox.ofJob(b.id))].map((d) => d.nextAttempt)
      )
      const first = yield* outbox.claimDue({ owner: "d1", now, leaseMs: 1000, max: 1 })
      yield* same(first.length, 1, "a claim of at most one")
      const second = yield* outbox.claimDue({ owner: "d2", now, leaseMs: 1000, max: 10 })
      yield* same(second.length, 1, "a second claimer gets only the other one")
      yield* expect(first[0]?.id !== second[0]?.id, "no callback is claimed twice")
      yield* same(
        (yield* outbox.claimDue({ owner: "d3", now: now + 999, leaseMs: 1000, max: 10 })).length,
        0,
        "claimed callbacks while their leases last"
      )
      const again = yield* outbox.claimDue({ owner: "d3", now: now + 1000, leaseMs: 1000, max: 10 })
      yield* same(
        again.map((d) => d.id).sort(),
        [first[0]?.id, second[0]?.id].sort(),
        "both again once the leases ran out"
      )
    })
  ),
  "markFailed records the attempt and its error, and holds the callback back until its next attempt": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const job = yield* subscribed()
      yield* move(job.id, "Cancelled")
      const t = (yield* only(yield* outbox.ofJob(job.id), "cancelled")).nextAttempt
      const [d] = yield* outbox.claimDue({ owner: "d1", now: t, leaseMs: 60_000, max: 10 })
      if (d === undefined) return yield* new ContractViolation({ expectation: "a due callback is claimed" })
      // Not the holder: nothing changes.
      yield* outbox.markFailed(d.id, { owner: "d2", now: t, error: "x", attempted: true, nextAttempt: t })
      yield* same((yield* outbox.ofJob(job.id))[0]?.attempts, 0, "attempts after a mark by another claimer")
      yield* outbox.markFailed(d.id, { owner: "d1", now: t, error: "HTTP 500", attempted: true, nextAttempt: t + 500 })
      const failed = yield* only(yield* outbox.ofJob(job.id), "after a failed attempt")
      yield* same(
        [failed.status, failed.attempts, failed.lastError, failed.nextAttempt],
        ["pending", 1, "HTTP 500", t + 500],
        "after a failed attempt"
      )
      yield* same((yield* outbox.claimDue({ owner: "d1", now: t + 499, leaseMs: 1, max: 10 })).length, 0, "before it")
      const [retry] = yield* outbox.claimDue({ owner: "d2", now: t + 500, leaseMs: 60_000, max: 10 })
      yield* same(retry?.attempts, 1, "the retry's attempts so far")
      yield* outbox.markFailed(d.id, {
        owner: "d2",
        now: t + 500,
        error: "refused: 10.0.0.1 is not a public address",
        attempted: false,
        nextAttempt: null
      })
      const given = yield* only(yield* outbox.ofJob(job.id), "given up")
      yield* same(
        [given.status, given.attempts, given.lastError],
        ["failed", 1, "refused: 10.0.0.1 is not a public address"],
        "a callback given up (a refusal counts no attempt)"
      )
      yield* same(
        (yield* outbox.claimDue({ owner: "d3", now: Number.MAX_SAFE_INTEGER, leaseMs: 1, max: 10 })).length,
        0,
        "a failed callback is never claimed again"
      )
    })
  ),
  "markDelivered records the delivery and its attempt; a delivered callback is not claimed again": Effect.orDie(
    Effect.gen(function* () {
      const outbox = yield* CallbackOutbox
      const job = yield* subscribed()
      yield* move(job.id, "Cancelled")
      const t = (yield* only(yield* outbox.ofJob(job.id), "cancelled")).nextAttempt
      const [d] = yield* outbox.claimDue({ owner: "d1", now: t, leaseMs: 10, max: 10 })
      if (d === undefined) return yield* new ContractViolation({ expectation: "a due callback is claimed" })
      yield* outbox.markDelivered(d.id, { owner: "d1", now: t + 5 })
      const delivered = yield* only(yield* outbox.ofJob(job.id), "delivered")
      yield* same(
        [delivered.status, delivered.attempts, delivered.delivered, delivered.lastError],
        ["delivered", 1, t + 5, null],
        "a delivered callback"
      )
      yield* same(
        (yield* outbox.claimDue({ owner: "d2", now: Number.MAX_SAFE_INTEGER, leaseMs: 1, max: 10 })).length,
        0,
        "a delivered callback is never claimed again"
      )
    })
  ),
  "deleting a job keeps its pending callbacks for delivery and drops the finished ones": Effect.orDie(
    Effect.gen(function* () {
      const store = yield* JobStore
      const outbox = yield* CallbackOutbox
      const job = yield* subscribed()
      yield* claimOne(job.id)
      const t = (yield* only(yield* outbox.ofJob(job.id), "claimed")).nextAttempt
      const [progress] = yield* outbox.claimDue({ owner: "d1", now: t, leaseMs: 10, max: 10 })
      yield* outbox.markDelivered(progress?.id ?? "?", { owner: "d1", now: t })
      yield* move(job.id, "Failed")
      yield* store.delete(job.id)
      yield* same(events(yield* outbox.ofJob(job.id)), [`failed ${receiver}/failed pending`], "after the delete")
      const [failed] = yield* outbox.claimDue({ owner: "d1", now: Number.MAX_SAFE_INTEGER - 100, leaseMs: 10, max: 10 })
      yield* same(failed?.event, "failed", "the pending callback of a removed job is still delivered")
      yield* outbox.markDelivered(failed?.id ?? "?", { owner: "d1", now: t })
      yield* same(yield* outbox.ofJob(job.id), [], "a removed job's callback once delivered")
    })
  )
}
