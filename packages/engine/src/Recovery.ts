/**
 * Recovery of jobs orphaned by a dead engine process. Every process records heartbeats in the store; a held job
 * whose owner stopped beating for longer than the lease (or, on this host, whose pid is gone) is an orphan, and
 * `JobLifecycle.recoverAt` decides what it becomes. Runs at start and after every heartbeat.
 *
 * @module
 */
import { hostname } from "node:os"
import { type JobError, type JobFiles, JobLifecycle, type JobQueue, type JobStore } from "@geojobs/core"
import { Clock, Effect, Result } from "effect"
import { type ServiceRegistry, settingsOf } from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"

/**
 * Recovery's operations.
 *
 * @category models
 */
export interface Recovery {
  /** This process, as its heartbeats record it. */
  readonly owner: Omit<JobQueue.Owner, "seen">
  /** Recovers orphans now; answers how many jobs it changed or removed. */
  readonly recover: Effect.Effect<number, JobError.JobStoreError>
  /** Records a heartbeat of this process, now. */
  readonly heartbeat: Effect.Effect<void, JobError.JobStoreError>
  /** Forgets this process in the store (clean shutdown). */
  readonly release: Effect.Effect<void, JobError.JobStoreError>
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
  readonly ownerId: string
  readonly leaseMs: number
  /** Jobs this process runs are never orphans, whatever the store says. */
  readonly runsHere: (id: string) => boolean
  /** Called when recovery queued or ended jobs (the dispatcher may have work). */
  readonly changed: () => void
}): Recovery => {
  const { store, queue, files, registry } = options
  const owner = { id: options.ownerId, host: hostname(), pid: process.pid }

  /** Owners on this host whose process is gone: a crash is seen at once, not only after the lease. */
  const deadHere = (owners: ReadonlyArray<JobQueue.Owner>): ReadonlyArray<string> =>
    owners.flatMap((other) => {
      if (other.id === owner.id || other.host !== owner.host) return []
      try {
        process.kill(other.pid, 0)
        return []
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "ESRCH" ? [other.id] : []
      }
    })

  const recover = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const dead = deadHere(yield* queue.owners)
    const orphans = yield* queue.orphans({ self: owner.id, now, leaseMs: options.leaseMs, dead })
    let count = 0
    for (const { job } of orphans) {
      if (options.runsHere(job.id)) continue
      const settings = settingsOf(registry, job)
      const decision = JobLifecycle.recoverAt(job, settings, now)
      if (Result.isFailure(decision)) continue
      if (decision.success._tag === "Remove") {
        yield* StoredJob.remove(store, files, job.id)
        count++
        continue
      }
      // Decided again on what is stored at the write, should another process have moved the job meanwhile.
      const written = yield* StoredJob.modify(
        store,
        job.id,
        (current, t) => {
          const again = JobLifecycle.recoverAt(current, settings, t)
          return Result.isSuccess(again) && again.success._tag === "Write" ? again.success.job : undefined
        },
        job
      )
      if (written !== undefined) count++
    }
    if (count > 0) options.changed()
    return count
  }).pipe(Effect.catchTag("InvalidTransition", () => Effect.succeed(0)))

  return {
    owner,
    recover,
    heartbeat: Effect.flatMap(Clock.currentTimeMillis, (now) => queue.heartbeat(owner, now)),
    release: queue.release(owner.id)
  }
}
