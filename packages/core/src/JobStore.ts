/**
 * The port every job store implements (memory here; SQLite in the engine; PostgreSQL later), with the rules all of
 * them share so that no adapter re-implements them: the revision-guarded update (compare-and-set plus the status
 * table), query validation and defaults, and the page arithmetic (`total`, 1-based `start`, `nextStart` = -1 at the
 * end). `@geojobs/core/testing` holds the contract suite each adapter must pass unchanged.
 *
 * @module
 */
import { Clock, Context, Effect, Layer } from "effect"
import * as Callback from "./Callback.ts"
import * as MemoryOutbox from "./internal/MemoryOutbox.ts"
import { type Job, type JobSummary, summarize } from "./Job.ts"
import {
  DuplicateJob,
  InvalidQuery,
  InvalidTransition,
  type JobStoreError,
  NoSuchJob,
  StaleRevision
} from "./JobError.ts"
import type { JobId } from "./JobId.ts"
import * as JobStatus from "./JobStatus.ts"
import type { ServicePath } from "./ServiceRef.ts"

/**
 * Filters of a job query. Times are milliseconds since the epoch and bound `created`, both ends inclusive.
 *
 * @category models
 */
export interface JobQuery {
  readonly service?: ServicePath | undefined
  readonly statuses?: ReadonlyArray<JobStatus.JobStatus> | undefined
  readonly user?: string | undefined
  readonly createdFrom?: number | undefined
  readonly createdTo?: number | undefined
  /** Page size; default {@link defaultPageSize}, at most {@link maxPageSize}. */
  readonly number?: number | undefined
  /** 1-based ordinal of the first job of the page; default 1. */
  readonly start?: number | undefined
  /** `newest` first (the default, as admin lists show jobs) or `oldest` first (queue order). */
  readonly order?: "newest" | "oldest" | undefined
}

/**
 * A query with its defaults applied and its values checked.
 *
 * @category models
 */
export interface NormalizedQuery extends JobQuery {
  readonly number: number
  readonly start: number
}

/**
 * One page of a query, in the query's order (see {@link sortJobs}).
 *
 * @category models
 */
export interface JobPage {
  readonly total: number
  readonly start: number
  readonly num: number
  /** Where the next page starts, or -1 when this page is the last. */
  readonly nextStart: number
  /** Summaries: a listing never reads parameter values. */
  readonly results: ReadonlyArray<JobSummary>
}

/** The admin query's default page size. @category models */
export const defaultPageSize = 10
/** The largest page a query may ask for. @category models */
export const maxPageSize = 1000

/**
 * Store operations.
 *
 * @category services
 */
export interface JobStoreShape {
  /** Stores a new job; acknowledged only once it is durable. */
  readonly create: (job: Job) => Effect.Effect<Job, DuplicateJob | JobStoreError>
  readonly get: (id: JobId) => Effect.Effect<Job, NoSuchJob | JobStoreError>
  /** The job without its parameter values (see `Job.JobSummary`), read without decoding them. */
  readonly getSummary: (id: JobId) => Effect.Effect<JobSummary, NoSuchJob | JobStoreError>
  /**
   * Replaces the job if its stored revision is still `expectedRevision` and the status change (if any) is allowed.
   * Writes `next` with revision `expectedRevision + 1` and returns what was written. A job's inputs are fixed when it
   * is created: the update keeps the stored ones whatever `next` holds, so no store rewrites them on every change.
   */
  readonly update: (
    expectedRevision: number,
    next: Job
  ) => Effect.Effect<Job, NoSuchJob | StaleRevision | InvalidTransition | JobStoreError>
  readonly query: (query: JobQuery) => Effect.Effect<JobPage, InvalidQuery | JobStoreError>
  /** Removes the job record for good. */
  readonly delete: (id: JobId) => Effect.Effect<void, NoSuchJob | JobStoreError>
}

/**
 * The job store service.
 *
 * @category services
 */
export class JobStore extends Context.Service<JobStore, JobStoreShape>()("@geojobs/core/JobStore") {
  /**
   * A store in memory, empty at start; for tests and throwaway servers.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<JobStore> = Layer.sync(JobStore, () => makeMemory())
}

/**
 * Why a revision-guarded update must be refused, or `undefined` when it may go ahead: the stored job must still be at
 * `expectedRevision` and the status change (if any) must be in the table. Shared by every adapter.
 *
 * @category guards
 */
export const updateProblem = (
  stored: Pick<Job, "id" | "status" | "revision">,
  expectedRevision: number,
  next: Pick<Job, "status">
): StaleRevision | InvalidTransition | undefined => {
  if (stored.revision !== expectedRevision) {
    return new StaleRevision({ jobId: stored.id, expected: expectedRevision, actual: stored.revision })
  }
  if (next.status !== stored.status && !JobStatus.canTransition(stored.status, next.status)) {
    return new InvalidTransition({ jobId: stored.id, from: stored.status, to: next.status })
  }
  return undefined
}

/**
 * The checks of a revision-guarded update (see {@link updateProblem}); returns the job to write, at revision
 * `expectedRevision + 1`.
 *
 * @category combinators
 */
export const guardUpdate = (
  stored: Job,
  expectedRevision: number,
  next: Job
): Effect.Effect<Job, StaleRevision | InvalidTransition> => {
  const problem = updateProblem(stored, expectedRevision, next)
  if (problem !== undefined) return Effect.fail(problem)
  // The subscriber, like the inputs, stays as created.
  const { subscriber: _ignored, ...rest } = next
  return Effect.succeed({
    ...rest,
    ...(stored.subscriber === undefined ? {} : { subscriber: stored.subscriber }),
    id: stored.id,
    inputs: stored.inputs,
    revision: expectedRevision + 1
  })
}

/**
 * Applies defaults to a query and checks it.
 *
 * @category constructors
 */
export const normalizeQuery = (query: JobQuery): Effect.Effect<NormalizedQuery, InvalidQuery> => {
  const number = query.number ?? defaultPageSize
  const start = query.start ?? 1
  if (!Number.isInteger(number) || number < 1 || number > maxPageSize) {
    return Effect.fail(
      new InvalidQuery({ parameter: "number", reason: `expected an integer from 1 to ${maxPageSize}` })
    )
  }
  if (!Number.isSafeInteger(start) || start < 1) {
    return Effect.fail(new InvalidQuery({ parameter: "start", reason: "expected an integer of 1 or more (1-based)" }))
  }
  if (query.createdFrom !== undefined && query.createdTo !== undefined && query.createdFrom > query.createdTo) {
    return Effect.fail(
      new InvalidQuery({ parameter: "endTime", reason: "the end of the time window is before its start" })
    )
  }
  return Effect.succeed({ ...query, number, start })
}

/**
 * Whether a job passes a query's filters (paging aside).
 *
 * @category guards
 */
export const matches = (query: JobQuery, job: Pick<Job, "service" | "status" | "user" | "created">): boolean =>
  (query.service === undefined ||
    (job.service.name === query.service.name && job.service.folder === query.service.folder)) &&
  (query.statuses === undefined || query.statuses.includes(job.status)) &&
  (query.user === undefined || job.user === query.user) &&
  (query.createdFrom === undefined || job.created >= query.createdFrom) &&
  (query.createdTo === undefined || job.created <= query.createdTo)

/**
 * Sorts jobs listed in the order they were stored into a query's order: by `created`, newest first unless `oldest`
 * is asked for, jobs created in the same millisecond in the order they were stored (reversed for newest first).
 *
 * @category combinators
 */
export const sortJobs = <J extends Pick<Job, "created">>(query: JobQuery, inStoreOrder: ReadonlyArray<J>): Array<J> =>
  query.order === "oldest"
    ? [...inStoreOrder].sort((a, b) => a.created - b.created)
    : [...inStoreOrder].reverse().sort((a, b) => b.created - a.created)

/**
 * Assembles a page from the total count and the jobs found at `query.start`.
 *
 * @category constructors
 */
export const page = (query: NormalizedQuery, total: number, results: ReadonlyArray<JobSummary>): JobPage => {
  const next = query.start + results.length
  return { total, start: query.start, num: results.length, nextStart: next <= total ? next : -1, results }
}

const makeMemory = (): JobStoreShape => {
  const jobs = new Map<JobId, Job>()
  // Its callbacks (CallbackOutbox.layerMemory), written with each change as a durable store writes them.
  const outbox: { rows: MemoryOutbox.Rows } = { rows: new Map() }
  const find = (id: JobId) => {
    const job = jobs.get(id)
    return job === undefined ? Effect.fail(new NoSuchJob({ jobId: id })) : Effect.succeed(job)
  }
  const shape: JobStoreShape = {
    create: (job) =>
      Effect.suspend(() => {
        if (jobs.has(job.id)) return Effect.fail(new DuplicateJob({ jobId: job.id }))
        jobs.set(job.id, job)
        return Effect.succeed(job)
      }),
    get: (id) => Effect.suspend(() => find(id)),
    getSummary: (id) =>
      Effect.map(
        Effect.suspend(() => find(id)),
        summarize
      ),
    update: (expectedRevision, next) =>
      Effect.suspend(() => find(next.id)).pipe(
        Effect.flatMap((stored) => guardUpdate(stored, expectedRevision, next)),
        Effect.flatMap((written) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            jobs.set(written.id, written)
            MemoryOutbox.record(outbox.rows, Callback.outgoing(written), now)
            return written
          })
        )
      ),
    query: (query) =>
      Effect.map(normalizeQuery(query), (q) => {
        const found = sortJobs(
          q,
          [...jobs.values()].filter((job) => matches(q, job))
        )
        return page(q, found.length, found.slice(q.start - 1, q.start - 1 + q.number).map(summarize))
      }),
    delete: (id) =>
      Effect.suspend(() => find(id)).pipe(
        Effect.flatMap(() =>
          Effect.sync(() => {
            jobs.delete(id)
            MemoryOutbox.forgetJob(outbox.rows, id)
          })
        )
      )
  }
  outbox.rows = MemoryOutbox.register(shape, (id) => jobs.has(id))
  return shape
}
