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
 * Whether this process sweeps for every process sharing the store: the live one (heartbeat within the lease) whose
 * owner id sorts first does, so a cluster sweeps once per interval rather than once per node — every node reads the
 * same heartbeats, so they agree without a lock. With no live owner recorded yet (this one's first heartbeat not
 * written), this process sweeps. While the owners change hands, two may sweep once: removal is idempotent.
 *
 * @category guards
 */
export const sweepsHere = (
  owners: ReadonlyArray<Pick<JobQueue.Owner, "id" | "seen">>,
  self: string,
  now: number,
  leaseMs: number
): boolean => {
  const live = owners.filter((o) => now - o.seen < leaseMs).map((o) => o.id)
  live.sort()
  return live.length === 0 || live[0] === self
}

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
