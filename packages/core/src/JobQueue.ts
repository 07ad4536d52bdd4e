/**
 * The queue port: the operations on stored jobs that must be atomic in the store itself, because several engine
 * processes may share one database — claiming queued jobs (never twice, within per-service limits), heartbeats of the
 * engine processes (their leases), finding jobs orphaned by a process whose lease ran out, writing a running job under
 * its claim's fencing token, finding expired jobs, and counting jobs by status. Every argument is plain data that a
 * database can evaluate (no callbacks), so an SQL adapter can do each operation in one transaction. `layerMemory`
 * implements it over any `JobStore` for one process; `@geojobs/core/testing` holds the contract suite each adapter
 * passes unchanged.
 *
 * Leases and fencing: a process holds its jobs only as long as its heartbeats are younger than the lease. Every claim
 * gives the job a new claim number (1 for its first run, then one more at every claim; it doubles as the job's attempt
 * count), and `{ owner, number }` is that run's fencing token. A write made for a run ({@link JobQueueShape.updateClaimed})
 * lands only while the stored job is still held under that very token; once another process took the job over (moved it
 * on, queued it again, or claimed it anew) the token is dead and the write is refused with {@link LostClaim}, writing
 * nothing. A job leaving the held statuses forgets its owner.
 *
 * Signals ({@link QueueSignals}): besides polling, a queue may tell its users at once when a job became claimable
 * (or a held one ended, freeing its service's room) and when a held job must stop (cancelled or deleted while it
 * runs), so that a submit on one node starts on another at once and a cancel reaches the node running the tool.
 * Signals are hints, sent only for committed changes; the store stays the truth, polled at a slow rate.
 *
 * @module
 */
import { Clock, Context, Data, Effect, Layer, PubSub, type Scope } from "effect"
import * as Job from "./Job.ts"
import type { InvalidTransition, JobStoreError, NoSuchJob, StaleRevision } from "./JobError.ts"
import type { JobId } from "./JobId.ts"
import * as JobStatus from "./JobStatus.ts"
import { type JobQuery, JobStore, type JobStoreShape, maxPageSize } from "./JobStore.ts"
import type { ServicePath } from "./JobUrls.ts"
import * as ServiceRef from "./ServiceRef.ts"

/**
 * An engine process, as recorded by its heartbeats.
 *
 * @category models
 */
export interface Owner {
  /** Unique per start of a process (a process that lost its lease takes a new one). */
  readonly id: string
  /** The node's name, as logs, messages and the admin documents show it (several ids may share one over restarts). */
  readonly node: string
  readonly host: string
  /** Shown, never used to judge liveness: processes in their own pid namespaces share pids on one host. */
  readonly pid: number
  /** Last heartbeat, milliseconds since the epoch. */
  readonly seen: number
}

/**
 * A claim of a job: the process that claimed it and the job's claim number (1 for its first run, one more at every
 * claim). The fencing token of every write the run makes (see {@link JobQueueShape.updateClaimed}).
 *
 * @category models
 */
export interface Claim {
  readonly owner: string
  readonly number: number
}

/**
 * A job a claim moved to Executing, as stored, with its fencing token.
 *
 * @category models
 */
export interface Claimed {
  readonly job: Job.Job
  readonly claim: Claim
}

/**
 * A held job and the claim it is held under.
 *
 * @category models
 */
export interface HeldClaim {
  readonly jobId: JobId
  readonly claim: Claim
}

/**
 * A write for a run whose claim is no longer the job's: another process took the job over (its owner's lease ran
 * out), it was queued again or claimed anew, or it is no longer held. Nothing was written; the run must stop.
 *
 * @category errors
 */
export class LostClaim extends Data.TaggedError("LostClaim")<{ readonly jobId: string; readonly claim: Claim }> {
  override get message(): string {
    return `Job ${this.jobId} is no longer held under claim ${this.claim.number} of ${this.claim.owner}.`
  }
}

/**
 * One service's `maxConcurrentJobs`, counted over every process sharing the store.
 *
 * @category models
 */
export interface ServiceLimit {
  readonly service: ServicePath
  readonly max: number
}

/**
 * What a claim may take.
 *
 * @category models
 */
export interface ClaimRequest {
  readonly owner: string
  /** How many jobs this process can start now. */
  readonly max: number
  /** The limit of each service; a job of a service not listed here is never claimed. */
  readonly limits: ReadonlyArray<ServiceLimit>
}

/**
 * Which held jobs count as orphaned: those whose owner is not `self` and has no heartbeat row or a heartbeat older
 * than `leaseMs` at `now`. Liveness comes from leases alone.
 *
 * @category models
 */
export interface OrphanQuery {
  readonly self: string
  readonly now: number
  readonly leaseMs: number
}

/**
 * A job held by a process that is gone: that process's id (`null` when none was recorded), the claim the job is held
 * under (`null` without an owner; a takeover writes under it, so it is refused if anything moved the job meanwhile),
 * how many times the job has been claimed (its attempts so far), and the owner's node name while its record remains.
 *
 * @category models
 */
export interface Orphan {
  readonly job: Job.Job
  readonly owner: string | null
  readonly claim: Claim | null
  readonly attempts: number
  readonly node: string | null
}

/**
 * Queue operations.
 *
 * @category services
 */
export interface JobQueueShape {
  /**
   * Moves up to `max` of the oldest claimable jobs to Executing — FIFO within a service, never past a service's limit,
   * a service at its limit not blocking the others — and records `owner` as the process running them, with the next
   * claim number of each job. Atomic: no job is ever claimed twice. The jobs come back as stored, with their claims.
   */
  readonly claim: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<Claimed>, JobStoreError>
  /**
   * `JobStore.update` under a fencing token: the same revision guard and status table, and only while the stored job
   * is held under `claim` (same owner, same claim number). Otherwise it fails with {@link LostClaim} — checked before
   * the revision, so a writer that lost its claim stops instead of retrying — and writes nothing.
   */
  readonly updateClaimed: (
    claim: Claim,
    expectedRevision: number,
    next: Job.Job
  ) => Effect.Effect<Job.Job, LostClaim | NoSuchJob | StaleRevision | InvalidTransition | JobStoreError>
  /** The held jobs whose claims are `owner`'s, with their claims (a process checks its runs are still its own). */
  readonly claimsOf: (owner: string) => Effect.Effect<ReadonlyArray<HeldClaim>, JobStoreError>
  /** Records that `owner` is alive at `now` (renews its lease). */
  readonly heartbeat: (owner: Omit<Owner, "seen">, now: number) => Effect.Effect<void, JobStoreError>
  /** Forgets an owner that shut down cleanly. */
  readonly release: (ownerId: string) => Effect.Effect<void, JobStoreError>
  /**
   * Forgets an owner gone by the lease once it holds no job: the record of a node that died goes when its jobs have
   * been taken over. `owner` is the record as read (`owners`): one that heartbeated since (its `seen` changed) or holds
   * a job is kept, so a paused node that came back is never forgotten under it. Answers whether it was forgotten.
   */
  readonly forget: (owner: Owner) => Effect.Effect<boolean, JobStoreError>
  /** Every recorded owner. */
  readonly owners: Effect.Effect<ReadonlyArray<Owner>, JobStoreError>
  /** Held jobs (see `JobStatus.held`) whose owner is gone, by {@link OrphanQuery}. */
  readonly orphans: (query: OrphanQuery) => Effect.Effect<ReadonlyArray<Orphan>, JobStoreError>
  /** Finished jobs whose `expires` is at or before `now`, oldest expiry first, at most `limit`. */
  readonly expired: (now: number, limit: number) => Effect.Effect<ReadonlyArray<Job.Job>, JobStoreError>
  /** How many jobs are in each status (statuses with none left out), for one service or all. */
  readonly countByStatus: (
    service?: ServicePath
  ) => Effect.Effect<Readonly<Partial<Record<JobStatus.JobStatus, number>>>, JobStoreError>
}

/**
 * The queue service.
 *
 * @category services
 */
export class JobQueue extends Context.Service<JobQueue, JobQueueShape>()("@geojobs/core/JobQueue") {
  /**
   * A queue over any `JobStore`, for one process: claims go through the store's revision guard, owners are kept in
   * memory. Use it with `JobStore.layerMemory`; durable stores provide their own, atomic, queue.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<JobQueue, never, JobStore> = Layer.effect(
    JobQueue,
    Effect.gen(function* () {
      return makeMemory(yield* JobStore)
    })
  )
}

/**
 * A service's limit in a claim request (0 when it is not listed).
 *
 * @category combinators
 */
export const limitOf = (request: ClaimRequest, service: ServicePath): number =>
  request.limits.find((l) => ServiceRef.equals(l.service, service))?.max ?? 0

/**
 * Whether an owner counts as gone for an orphan query (`undefined`: no heartbeat row).
 *
 * @category guards
 */
export const isGone = (query: OrphanQuery, ownerId: string | null, owner: Owner | undefined): boolean =>
  ownerId !== query.self && (owner === undefined || query.now - owner.seen >= query.leaseMs)

/**
 * Why a write under `claim` must be refused, or `undefined` when the stored job is still held under it (status held,
 * same owner, same claim number). Shared by every adapter.
 *
 * @category guards
 */
export const claimProblem = (
  stored: {
    readonly id: string
    readonly status: JobStatus.JobStatus
    readonly owner: string | null
    readonly claims: number
  },
  claim: Claim
): LostClaim | undefined =>
  JobStatus.table[stored.status].held && stored.owner === claim.owner && stored.claims === claim.number
    ? undefined
    : new LostClaim({ jobId: stored.id, claim })

const makeMemory = (store: JobStoreShape): JobQueueShape => {
  // Kept beside the store's jobs: the owner of each held job and how many times each job was claimed.
  const ownerOf = new Map<string, string>()
  const claimCount = new Map<string, number>()
  const owners = new Map<string, Owner>()
  const ownerWhileHeld = (job: Job.Job) => (JobStatus.table[job.status].held ? (ownerOf.get(job.id) ?? null) : null)
  // A listing answers summaries; the queue works on whole jobs (in memory a get is a map lookup).
  const all = (query: JobQuery) =>
    store.query({ ...query, number: maxPageSize }).pipe(
      Effect.flatMap((page) =>
        Effect.forEach(page.results, (summary) =>
          store.get(summary.id).pipe(
            Effect.map((job): ReadonlyArray<Job.Job> => [job]),
            Effect.catchTag("NoSuchJob", () => Effect.succeed([]))
          )
        )
      ),
      Effect.map((found) => found.flat()),
      Effect.catchTag("InvalidQuery", (e) => Effect.die(e))
    )
  const claim = Effect.fn("JobQueue.claim")(function* (request: ClaimRequest) {
    if (request.max <= 0) return []
    const queued = yield* all({ statuses: JobStatus.claimable, order: "oldest" })
    const running = yield* all({ statuses: JobStatus.held })
    const load = new Map<string, number>()
    for (const job of running) load.set(ServiceRef.path(job.service), (load.get(ServiceRef.path(job.service)) ?? 0) + 1)
    const now = yield* Clock.currentTimeMillis
    const claimed: Array<Claimed> = []
    for (const job of queued) {
      if (claimed.length >= request.max) break
      const key = ServiceRef.path(job.service)
      if ((load.get(key) ?? 0) >= limitOf(request, job.service)) continue
      const next = Job.transitionAt(job, "Executing", now)
      if (next._tag === "Failure") continue
      const written = yield* store.update(job.revision, next.success).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTags({
          StaleRevision: () => Effect.succeed(undefined),
          InvalidTransition: () => Effect.succeed(undefined),
          NoSuchJob: () => Effect.succeed(undefined)
        })
      )
      if (written === undefined) continue
      load.set(key, (load.get(key) ?? 0) + 1)
      const number = (claimCount.get(written.id) ?? 0) + 1
      ownerOf.set(written.id, request.owner)
      claimCount.set(written.id, number)
      claimed.push({ job: written, claim: { owner: request.owner, number } })
    }
    return claimed
  })
  const updateClaimed = (claim: Claim, expectedRevision: number, next: Job.Job) =>
    Effect.gen(function* () {
      const stored = yield* store.get(next.id)
      const lost = claimProblem(
        { id: stored.id, status: stored.status, owner: ownerWhileHeld(stored), claims: claimCount.get(stored.id) ?? 0 },
        claim
      )
      if (lost !== undefined) return yield* lost
      // The revision guard makes the check and the write one step: any claim or takeover since moved the revision.
      const written = yield* store.update(expectedRevision, next)
      if (!JobStatus.table[written.status].held) ownerOf.delete(written.id)
      return written
    })
  return {
    claim,
    updateClaimed,
    claimsOf: (owner) =>
      Effect.map(all({ statuses: JobStatus.held, order: "oldest" }), (jobs) =>
        jobs.flatMap(
          (job): ReadonlyArray<HeldClaim> =>
            ownerOf.get(job.id) === owner
              ? [{ jobId: job.id, claim: { owner, number: claimCount.get(job.id) ?? 0 } }]
              : []
        )
      ),
    heartbeat: (owner, now) => Effect.sync(() => void owners.set(owner.id, { ...owner, seen: now })),
    release: (id) => Effect.sync(() => void owners.delete(id)),
    forget: (owner) =>
      Effect.map(all({ statuses: JobStatus.held, order: "oldest" }), (jobs) => {
        if (owners.get(owner.id)?.seen !== owner.seen) return false
        if (jobs.some((job) => ownerOf.get(job.id) === owner.id)) return false
        return owners.delete(owner.id)
      }),
    owners: Effect.sync(() => [...owners.values()]),
    orphans: (query) =>
      Effect.map(all({ statuses: JobStatus.held, order: "oldest" }), (jobs) =>
        jobs.flatMap((job): ReadonlyArray<Orphan> => {
          const id = ownerOf.get(job.id) ?? null
          const owner = id === null ? undefined : owners.get(id)
          if (!isGone(query, id, owner)) return []
          const attempts = claimCount.get(job.id) ?? 0
          return [
            {
              job,
              owner: id,
              claim: id === null ? null : { owner: id, number: attempts },
              attempts,
              node: owner?.node ?? null
            }
          ]
        })
      ),
    expired: (now, limit) =>
      Effect.map(all({ statuses: JobStatus.terminal }), (jobs) =>
        jobs
          .filter((job) => job.expires !== null && job.expires <= now)
          .sort((a, b) => (a.expires ?? 0) - (b.expires ?? 0))
          .slice(0, limit)
      ),
    countByStatus: (service) =>
      Effect.map(
        Effect.forEach(JobStatus.all, (status) =>
          Effect.map(
            store.query({ statuses: [status], number: 1, ...(service === undefined ? {} : { service }) }),
            (page) => [status, page.total] as const
          ).pipe(Effect.catchTag("InvalidQuery", (e) => Effect.die(e)))
        ),
        (pairs) => Object.fromEntries(pairs.filter(([, n]) => n > 0))
      )
  }
}

// --- signals -------------------------------------------------------------------------------------------------------

/**
 * A queue signal: something to look at now rather than at the next poll. Signals are hints — a receiver rereads the
 * store before it acts, and may get a signal twice or for something already handled:
 * - `Work`: a job of `service` became claimable, or one ended (a held job ending frees room under the service's
 *   limit): claim now;
 * - `Stop`: the job `jobId` was moved to a status whose tool must stop (Cancelling, Deleting) or was removed: stop its
 *   tool if it runs here;
 * - `Resync`: signals may have been or be missed (a listener's connection to the store broke, or came back): claim,
 *   check every running job, and look at `crossProcess` again, now.
 *
 * @category models
 */
export type Signal =
  | { readonly _tag: "Work"; readonly service: ServicePath }
  | { readonly _tag: "Stop"; readonly jobId: JobId }
  | { readonly _tag: "Resync" }

/**
 * The statuses whose writes signal `Work` (claimable ones, and the terminal ones a held job ends in), and those whose
 * writes signal `Stop` (held, and dismissed in OGC terms: the tool must stop). From core's status table, so every
 * adapter (SQL triggers included) signals the same writes.
 *
 * @category models
 */
export const signalledStatuses: {
  readonly work: ReadonlyArray<JobStatus.JobStatus>
  readonly stop: ReadonlyArray<JobStatus.JobStatus>
} = {
  work: JobStatus.where((r) => r.claimable || r.terminal),
  stop: JobStatus.where((r) => r.held && r.ogc === "dismissed")
}

/**
 * The signals a committed write of `job` sends (a create, or an update that changed its status; a write that left
 * the status as it was may send them again — signals are hints).
 *
 * @category constructors
 */
export const signalsOf = (job: Job.Job): ReadonlyArray<Signal> => [
  ...(signalledStatuses.work.includes(job.status) ? [{ _tag: "Work" as const, service: job.service }] : []),
  ...(signalledStatuses.stop.includes(job.status) ? [{ _tag: "Stop" as const, jobId: job.id }] : [])
]

/**
 * Signal operations.
 *
 * @category services
 */
export interface QueueSignalsShape {
  /**
   * A subscription, ended with the scope: every signal of a write committed after it was made reaches it (from this
   * process always; from other processes while {@link crossProcess} holds), in commit order per sender.
   */
  readonly subscribe: Effect.Effect<PubSub.Subscription<Signal>, never, Scope.Scope>
  /**
   * Whether signals of writes made by other processes sharing the store reach this one now (PostgreSQL: its listener
   * is connected). While not, other processes' work is found only by polling, so pollers should poll at their fast
   * rate.
   */
  readonly crossProcess: () => boolean
}

/**
 * The signals service. Optional: an engine without it polls.
 *
 * @category services
 */
export class QueueSignals extends Context.Service<QueueSignals, QueueSignalsShape>()("@geojobs/core/QueueSignals") {
  /**
   * Signals within one process, over the `JobStore` and `JobQueue` in context: it provides them again, decorated so
   * that every committed write through them publishes its {@link signalsOf} (a delete: `Stop`), and the signals of
   * those writes. Writes made by other processes sharing the store are not seen (`crossProcess` is false): they are
   * found by polling.
   *
   * @category layers
   */
  static readonly layerInProcess: Layer.Layer<JobStore | JobQueue | QueueSignals, never, JobStore | JobQueue> =
    Layer.effectContext(
      Effect.gen(function* () {
        const store = yield* JobStore
        const queue = yield* JobQueue
        const hub = yield* PubSub.unbounded<Signal>()
        yield* Effect.addFinalizer(() => PubSub.shutdown(hub))
        const publish = (signals: ReadonlyArray<Signal>) =>
          Effect.sync(() => {
            for (const signal of signals) PubSub.publishUnsafe(hub, signal)
          })
        const signalling: JobStoreShape = {
          ...store,
          create: (job) => Effect.tap(store.create(job), (created) => publish(signalsOf(created))),
          update: (expectedRevision, next) =>
            Effect.tap(store.update(expectedRevision, next), (written) => publish(signalsOf(written))),
          delete: (id) => Effect.tap(store.delete(id), () => publish([{ _tag: "Stop", jobId: id }]))
        }
        const signallingQueue: JobQueueShape = {
          ...queue,
          updateClaimed: (claim, expectedRevision, next) =>
            Effect.tap(queue.updateClaimed(claim, expectedRevision, next), (written) => publish(signalsOf(written)))
        }
        return Context.make(JobStore, signalling).pipe(
          Context.add(JobQueue, signallingQueue),
          Context.add(QueueSignals, QueueSignals.of({ subscribe: PubSub.subscribe(hub), crossProcess: () => false }))
        )
      })
    )
}
