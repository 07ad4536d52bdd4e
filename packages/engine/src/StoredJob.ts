/**
 * Writing a stored job safely when other writers share the store: a read-modify-write that retries under the
 * revision guard (a cancel from another process, say, may move the job between our read and our write), the same
 * under a claim's fencing token (a run's writes and a takeover: never re-applied once the claim is lost), and the
 * removal of a job's record together with its files. Every engine part that changes a job goes through here.
 *
 * @module
 */
import { type Job, JobError, type JobFiles, type JobQueue, type JobStore } from "@geojobs/core"
import { Clock, Effect, Result } from "effect"

/**
 * The stored job, or `undefined` when it is gone.
 *
 * @category constructors
 */
export const find = (
  store: JobStore.JobStoreShape,
  id: string
): Effect.Effect<Job.Job | undefined, JobError.JobStoreError> =>
  store.get(id).pipe(
    Effect.map((j): Job.Job | undefined => j),
    Effect.catchTag("NoSuchJob", () => Effect.succeed(undefined))
  )

/** One guarded write: the written job, or `undefined` when the revision moved (read again) or the job is gone. */
type Write<E> = (expectedRevision: number, next: Job.Job) => Effect.Effect<Job.Job | undefined, E>

const modifyWith = <E>(
  write: Write<E>,
  store: JobStore.JobStoreShape,
  id: string,
  change: (job: Job.Job, now: number) => Job.Job | undefined,
  current: Job.Job | undefined
): Effect.Effect<Job.Job | undefined, E | JobError.JobStoreError> =>
  Effect.gen(function* () {
    let job: Job.Job | undefined = current
    for (let attempt = 0; attempt < 50; attempt++) {
      if (job === undefined) {
        job = yield* find(store, id)
        if (job === undefined) return undefined
      }
      const next = change(job, yield* Clock.currentTimeMillis)
      if (next === undefined) return undefined
      const written = yield* write(job.revision, next)
      if (written !== undefined) return written
      job = undefined
    }
    return yield* new JobError.JobStoreError({ operation: `update ${id}`, cause: "too many concurrent changes" })
  })

/** A moved revision or a vanished job is not an error of the write: read again (or find it gone). */
const retried = {
  StaleRevision: () => Effect.succeed(undefined),
  NoSuchJob: () => Effect.succeed(undefined)
} as const

/**
 * Applies `change` to the stored job until the revision guard lets it through. `change` may decline by returning
 * `undefined`. Answers the written job, or `undefined` when declined or the job is gone.
 *
 * @category combinators
 */
export const modify = (
  store: JobStore.JobStoreShape,
  id: string,
  change: (job: Job.Job, now: number) => Job.Job | undefined,
  current?: Job.Job
): Effect.Effect<Job.Job | undefined, JobError.JobStoreError | JobError.InvalidTransition> =>
  modifyWith(
    (revision, next) =>
      store.update(revision, next).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTags(retried)
      ),
    store,
    id,
    change,
    current
  )

/**
 * {@link modify} under a claim's fencing token: each write lands only while the job is still held under `claim`.
 * Once it is not, this fails with `LostClaim` and writes nothing — the change is never re-applied on top of what
 * another process made of the job.
 *
 * @category combinators
 */
export const modifyClaimed = (
  queue: JobQueue.JobQueueShape,
  store: JobStore.JobStoreShape,
  claim: JobQueue.Claim,
  id: string,
  change: (job: Job.Job, now: number) => Job.Job | undefined,
  current?: Job.Job
): Effect.Effect<Job.Job | undefined, JobQueue.LostClaim | JobError.JobStoreError | JobError.InvalidTransition> =>
  modifyWith(
    (revision, next) =>
      queue.updateClaimed(claim, revision, next).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTags(retried)
      ),
    store,
    id,
    change,
    current
  )

/**
 * {@link modifyClaimed} with a lifecycle decision: a refusal declines the change.
 *
 * @category combinators
 */
export const applyClaimed = (
  queue: JobQueue.JobQueueShape,
  store: JobStore.JobStoreShape,
  claim: JobQueue.Claim,
  id: string,
  decide: (job: Job.Job, now: number) => Result.Result<Job.Job, JobError.InvalidTransition>,
  current?: Job.Job
): Effect.Effect<Job.Job | undefined, JobQueue.LostClaim | JobError.JobStoreError | JobError.InvalidTransition> =>
  modifyClaimed(queue, store, claim, id, (job, now) => Result.getOrUndefined(decide(job, now)), current)

/**
 * Removes a job's files, then its record; a job already gone is fine. A file system that refuses is a defect, as the
 * engine cannot go on keeping a job it was told to remove.
 *
 * @category combinators
 */
export const remove = (
  store: JobStore.JobStoreShape,
  files: JobFiles.JobFilesShape,
  id: string
): Effect.Effect<void, JobError.JobStoreError> =>
  Effect.andThen(Effect.orDie(files.remove(id)), store.delete(id).pipe(Effect.catchTag("NoSuchJob", () => Effect.void)))
