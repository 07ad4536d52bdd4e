/**
 * Takeover of jobs orphaned by a process whose lease ran out. Every process heartbeats (see `Lease`); a held job
 * whose owner's last heartbeat is older than the lease — liveness comes from leases alone, never from a pid — is an
 * orphan, and `JobLifecycle.recoverAt` decides what it becomes: Failed with "interrupted: node <name> stopped
 * responding" ("interrupted by server restart" when the owner was an earlier start of this very node), or queued
 * again with its attempts when its task is retryable and has attempts left. The takeover is written under the
 * orphan's claim (its fencing token), so it is refused if anything moved the job meanwhile — a late heartbeat's
 * owner finishing it, or another process taking it over first — and it kills the claim: whatever the old owner
 * writes later is refused. Then the records of gone owners that hold no job any more are forgotten. Runs at start and
 * after every heartbeat.
 *
 * @module
 */
import { type JobError, type JobFiles, JobLifecycle, JobQueue, type JobStore } from "@geojobs/core"
import { Clock, Effect, Result } from "effect"
import type { Lease } from "./Lease.ts"
import { type ServiceRegistry, settingsOf } from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"

/**
 * Recovery's operations.
 *
 * @category models
 */
export interface Recovery {
  /** Takes over orphans now; answers how many jobs it changed or removed. */
  readonly recover: Effect.Effect<number, JobError.JobStoreError>
}

/**
 * Recovery for this process.
 *
 * @category constructors
 */
export const make = (options: {
  readonly store: JobStore.JobStoreShape
  readonly queue: JobQueue.JobQueueShape
  readonly files: JobFiles.JobFilesShape
  readonly registry: ServiceRegistry["Service"]
  readonly lease: Lease
  readonly leaseMs: number
  /** Jobs this process runs are never orphans, whatever the store says (a run being given up is still stopping). */
  readonly runsHere: (id: string) => boolean
  /** Called when recovery queued or ended jobs (the dispatcher may have work). */
  readonly changed: () => void
}): Recovery => {
  const { store, queue, files, registry, lease } = options

  const takeOver = (orphan: JobQueue.Orphan, now: number) =>
    Effect.gen(function* () {
      const { job } = orphan
      const settings = settingsOf(registry, job)
      const takeover: JobLifecycle.Takeover = {
        node: orphan.node,
        // Another process of the same node name: this node restarted (an id this process gave up is no restart).
        restart: orphan.node === lease.owner().node && (orphan.owner === null || !lease.isMine(orphan.owner)),
        attempts: orphan.attempts
      }
      const decision = JobLifecycle.recoverAt(job, settings, takeover, now)
      if (Result.isFailure(decision)) return false
      if (decision.success._tag === "Remove") {
        yield* StoredJob.remove(store, files, job.id)
        return true
      }
      // Decided again on what is stored at the write, should the job have changed (under the same claim) meanwhile.
      const change = (current: typeof job, t: number) => {
        const again = JobLifecycle.recoverAt(current, settings, takeover, t)
        return Result.isSuccess(again) && again.success._tag === "Write" ? again.success.job : undefined
      }
      const written =
        orphan.claim === null
          ? yield* StoredJob.modify(store, job.id, change, job)
          : yield* StoredJob.modifyClaimed(queue, store, orphan.claim, job.id, change, job).pipe(
              // Its owner finished it after all, or another process took it over first.
              Effect.catchTag("LostClaim", () => Effect.succeed(undefined))
            )
      return written !== undefined
    }).pipe(Effect.catchTag("InvalidTransition", () => Effect.succeed(false)))

  const recover = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const orphans = yield* queue.orphans({ self: lease.owner().id, now, leaseMs: options.leaseMs })
    let count = 0
    for (const orphan of orphans) {
      if (options.runsHere(orphan.job.id)) continue
      if (yield* takeOver(orphan, now)) count++
    }
    if (count > 0) options.changed()
    // The records of owners gone by the lease whose jobs are all taken over go too (admin/machines then lists the
    // live nodes; a dead node's own record would otherwise stay for good). `forget` keeps one that still holds a job
    // or heartbeated since it was read.
    const gone = { self: lease.owner().id, now, leaseMs: options.leaseMs }
    for (const owner of yield* queue.owners) {
      if (JobQueue.isGone(gone, owner.id, owner)) yield* queue.forget(owner)
    }
    return count
  })

  return { recover }
}
