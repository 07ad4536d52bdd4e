/**
 * Retention: the sweeper that removes finished jobs, record and files, once their service's `jobRetention` has run
 * out (ArcGIS's jobs-directory cleanup). The store finds them in batches; `JobLifecycle.isExpiredAt` checks each
 * one, so a queue adapter's mistake never removes a live job.
 *
 * @module
 */
import { type JobError, type JobFiles, JobLifecycle, type JobQueue, type JobStore, type Uploads } from "@geojobs/core"
import { Clock, Effect } from "effect"
import * as StoredJob from "./StoredJob.ts"

const batch = 200

/**
 * Removes every expired job now; answers how many.
 *
 * @category combinators
 */
export const sweep = (options: {
  readonly store: JobStore.JobStoreShape
  readonly queue: JobQueue.JobQueueShape
  readonly files: JobFiles.JobFilesShape
}): Effect.Effect<number, JobError.JobStoreError> =>
  Effect.gen(function* () {
    let count = 0
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const expired = yield* options.queue.expired(now, batch)
      let removed = 0
      for (const job of expired) {
        if (!JobLifecycle.isExpiredAt(job, now)) continue
        yield* StoredJob.remove(options.store, options.files, job.id)
        removed++
      }
      count += removed
      // A full batch of nothing removable would come back the same: stop rather than loop.
      if (expired.length < batch || removed === 0) return count
    }
  })

/**
 * Removes every uploaded item whose retention (its service's `uploads.retention`) has run out; answers how many.
 * Nothing to do without an uploads adapter.
 *
 * @category combinators
 */
export const sweepUploads = (uploads: Uploads.UploadsShape | undefined): Effect.Effect<number, Uploads.UploadsError> =>
  uploads === undefined ? Effect.succeed(0) : Effect.flatMap(Clock.currentTimeMillis, uploads.sweep)
