/**
 * Writing a stored job safely when other writers share the store: a read-modify-write that retries under the
 * revision guard (a cancel from another process, say, may move the job between our read and our write), and the
 * removal of a job's record together with its files. Every engine part that changes a job goes through here.
 *
 * @module
 */
import { type Job, JobError, type JobFiles, type JobStore } from "@geojobs/core"
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
  Effect.gen(function* () {
    let job: Job.Job | undefined = current
    for (let attempt = 0; attempt < 50; attempt++) {
      if (job === undefined) {
        job = yield* find(store, id)
        if (job === undefined) return undefined
      }
      const next = change(job, yield* Clock.currentTimeMillis)
      if (next === undefined) return undefined
      const written = yield* store.update(job.revision, next).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTags({
          StaleRevision: () => Effect.succeed(undefined),
          NoSuchJob: () => Effect.succeed(undefined)
        })
      )
      if (written !== undefined) return written
      job = undefined
    }
    return yield* new JobError.JobStoreError({ operation: `update ${id}`, cause: "too many concurrent changes" })
  })

/**
 * {@link modify} with a lifecycle decision: a refusal declines the change.
 *
 * @category combinators
 */
export const apply = (
  store: JobStore.JobStoreShape,
  id: string,
  decide: (job: Job.Job, now: number) => Result.Result<Job.Job, JobError.InvalidTransition>,
  current?: Job.Job
): Effect.Effect<Job.Job | undefined, JobError.JobStoreError | JobError.InvalidTransition> =>
  modify(store, id, (job, now) => Result.getOrUndefined(decide(job, now)), current)

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
