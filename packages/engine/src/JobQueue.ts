/**
 * The engine's queue port: the operations on stored jobs that must be atomic in the store itself, because several
 * engine processes may share one database — claiming queued jobs (never twice), finding jobs orphaned by a dead
 * process, and finding expired jobs. `SqliteJobStore` implements it in single transactions; `layerMemory` implements it
 * for the in-memory store of one process (tests and benchmark baselines).
 *
 * @module
 */
import { Job, type JobError, JobStatus, JobStore, type JobUrls, ServiceRef } from "@geojobs/core"
import { Context, Effect, Layer } from "effect"

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
 * What a claim may take.
 *
 * @category models
 */
export interface ClaimRequest {
  readonly owner: string
  /** How many jobs this process can start now. */
  readonly max: number
  /** A service's `maxConcurrentJobs`, counted over every process sharing the store. */
  readonly limitFor: (service: JobUrls.ServicePath) => number
}

/**
 * Queue operations.
 *
 * @category services
 */
export interface JobQueueShape {
  /**
   * Moves up to `max` of the oldest Submitted jobs to Executing — FIFO within a service, never past a service's limit —
   * and records `owner` as the process running them. Atomic: no job is ever claimed twice.
   */
  readonly claim: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<Job.Job>, JobError.JobStoreError>
  /** Records that `owner` is alive, now. */
  readonly heartbeat: (owner: Omit<Owner, "seen">, now: number) => Effect.Effect<void, JobError.JobStoreError>
  /** Forgets an owner that shut down cleanly. */
  readonly release: (ownerId: string) => Effect.Effect<void, JobError.JobStoreError>
  /** Executing or Cancelling jobs whose owner is not alive by `isAlive`, with that owner's id. */
  readonly orphans: (
    isAlive: (owner: Owner) => boolean
  ) => Effect.Effect<ReadonlyArray<{ readonly job: Job.Job; readonly owner: string | null }>, JobError.JobStoreError>
  /** Finished jobs whose `expires` is at or before `now`, oldest expiry first. */
  readonly expired: (now: number, limit: number) => Effect.Effect<ReadonlyArray<Job.Job>, JobError.JobStoreError>
  /** How many jobs are in each status, for one service or all. */
  readonly countByStatus: (
    service?: JobUrls.ServicePath
  ) => Effect.Effect<Readonly<Partial<Record<JobStatus.JobStatus, number>>>, JobError.JobStoreError>
}

/**
 * The queue service.
 *
 * @category services
 */
export class JobQueue extends Context.Service<JobQueue, JobQueueShape>()("@geojobs/engine/JobQueue") {
  /**
   * A queue over any `JobStore`, for one process: claims go through the store's revision guard, owners are kept in
   * memory. Use it with `JobStore.layerMemory`; durable stores provide their own, atomic, queue.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<JobQueue, never, JobStore.JobStore> = Layer.effect(
    JobQueue,
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const ownerOf = new Map<string, string>()
      const owners = new Map<string, Owner>()
      const all = (query: JobStore.JobQuery) =>
        Effect.map(store.query({ ...query, number: JobStore.maxPageSize }), (page) => page.results).pipe(
          Effect.catchTag("InvalidQuery", (e) => Effect.die(e))
        )
      const claim = Effect.fn("JobQueue.claim")(function* (request: ClaimRequest) {
        const queued = yield* all({ statuses: ["Submitted"], order: "oldest" })
        const running = yield* all({ statuses: ["Executing", "Cancelling"] })
        const load = new Map<string, number>()
        for (const job of running)
          load.set(ServiceRef.path(job.service), (load.get(ServiceRef.path(job.service)) ?? 0) + 1)
        const claimed: Array<Job.Job> = []
        for (const job of queued) {
          if (claimed.length >= request.max) break
          const key = ServiceRef.path(job.service)
          if ((load.get(key) ?? 0) >= request.limitFor(job.service)) continue
          const next = yield* Job.transition(job, "Executing").pipe(Effect.orDie)
          const written = yield* store.update(job.revision, next).pipe(
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
      return JobQueue.of({
        claim,
        heartbeat: (owner, now) => Effect.sync(() => void owners.set(owner.id, { ...owner, seen: now })),
        release: (id) => Effect.sync(() => void owners.delete(id)),
        orphans: (isAlive) =>
          Effect.map(all({ statuses: ["Executing", "Cancelling"] }), (jobs) =>
            jobs.flatMap((job) => {
              const id = ownerOf.get(job.id) ?? null
              const owner = id === null ? undefined : owners.get(id)
              return owner !== undefined && isAlive(owner) ? [] : [{ job, owner: id }]
            })
          ),
        expired: (now, limit) =>
          Effect.map(all({ statuses: JobStatus.all.filter(JobStatus.isTerminal) }), (jobs) =>
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
      })
    })
  )
}
