/**
 * The queue port: the operations on stored jobs that must be atomic in the store itself, because several engine
 * processes may share one database — claiming queued jobs (never twice, within per-service limits), heartbeats of the
 * engine processes, finding jobs orphaned by a dead process, finding expired jobs, and counting jobs by status.
 * Every argument is plain data that a database can evaluate (no callbacks), so an SQL adapter can do each operation
 * in one transaction. `layerMemory` implements it over any `JobStore` for one process; `@geojobs/core/testing` holds
 * the contract suite each adapter passes unchanged.
 *
 * @module
 */
import { Clock, Context, Effect, Layer } from "effect"
import * as Job from "./Job.ts"
import type { JobStoreError } from "./JobError.ts"
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
  readonly id: string
  readonly host: string
  readonly pid: number
  /** Last heartbeat, milliseconds since the epoch. */
  readonly seen: number
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
 * Which held jobs count as orphaned: those whose owner is not `self` and has no heartbeat row, a heartbeat older than
 * `leaseMs` at `now`, or is listed in `dead` (processes the caller knows have died, e.g. by their pid on this host).
 *
 * @category models
 */
export interface OrphanQuery {
  readonly self: string
  readonly now: number
  readonly leaseMs: number
  readonly dead?: ReadonlyArray<string> | undefined
}

/**
 * A job held by a process that is gone, with that process's id (`null` when none was recorded).
 *
 * @category models
 */
export interface Orphan {
  readonly job: Job.Job
  readonly owner: string | null
}

/**
 * Queue operations.
 *
 * @category services
 */
export interface JobQueueShape {
  /**
   * Moves up to `max` of the oldest claimable jobs to Executing — FIFO within a service, never past a service's limit,
   * a service at its limit not blocking the others — and records `owner` as the process running them. Atomic: no job
   * is ever claimed twice. The jobs come back as stored.
   */
  readonly claim: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<Job.Job>, JobStoreError>
  /** Records that `owner` is alive at `now`. */
  readonly heartbeat: (owner: Omit<Owner, "seen">, now: number) => Effect.Effect<void, JobStoreError>
  /** Forgets an owner that shut down cleanly. */
  readonly release: (ownerId: string) => Effect.Effect<void, JobStoreError>
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
  ownerId !== query.self &&
  (owner === undefined || query.now - owner.seen >= query.leaseMs || (query.dead ?? []).includes(owner.id))

const makeMemory = (store: JobStoreShape): JobQueueShape => {
  const ownerOf = new Map<string, string>()
  const owners = new Map<string, Owner>()
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
    const claimed: Array<Job.Job> = []
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
      ownerOf.set(written.id, request.owner)
      claimed.push(written)
    }
    return claimed
  })
  return {
    claim,
    heartbeat: (owner, now) => Effect.sync(() => void owners.set(owner.id, { ...owner, seen: now })),
    release: (id) => Effect.sync(() => void owners.delete(id)),
    owners: Effect.sync(() => [...owners.values()]),
    orphans: (query) =>
      Effect.map(all({ statuses: JobStatus.held, order: "oldest" }), (jobs) =>
        jobs.flatMap((job) => {
          const id = ownerOf.get(job.id) ?? null
          return isGone(query, id, id === null ? undefined : owners.get(id)) ? [{ job, owner: id }] : []
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
