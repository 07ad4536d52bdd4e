/**
 * This process's lease on its jobs. Its heartbeats (every `heartbeatMs`) renew an owner record in the queue; other
 * processes judge it alive by that record alone — younger than `leaseMs` — never by a pid. The lease is held while
 * the last heartbeat written is younger than the lease. When it was not (the store was unreachable that long, or the
 * process was paused: a long GC, SIGSTOP, a frozen VM), other processes may have taken its jobs over, so the next
 * heartbeat first gives up every run (`onLapse`: the tools are stopped, nothing more is written for them) and takes a
 * new owner id: the old id's jobs are then orphans like any dead process's, recovered by whoever sees them first.
 *
 * @module
 */
import { hostname } from "node:os"
import type { JobError, JobQueue } from "@geojobs/core"
import { Clock, Effect } from "effect"

/**
 * The lease's operations.
 *
 * @category models
 */
export interface Lease {
  /** This process as its heartbeats record it now (a new id after a lapse). */
  readonly owner: () => Omit<JobQueue.Owner, "seen">
  /** Whether `id` is or was this process's (an id given up after a lapse included). */
  readonly isMine: (id: string) => boolean
  /** Whether the lease is held at `now`: the last heartbeat written is younger than the lease. */
  readonly held: (now: number) => boolean
  /** Renews the lease now; after a lapse, first gives up every run and takes a new id. */
  readonly beat: Effect.Effect<void, JobError.JobStoreError>
  /** Forgets this process in the store (clean shutdown). */
  readonly release: Effect.Effect<void, JobError.JobStoreError>
}

/** A fresh owner id. @category constructors */
export const newOwnerId = (): string => `e${globalThis.crypto.randomUUID().replaceAll("-", "")}`

/**
 * The lease of this process.
 *
 * @category constructors
 */
export const make = (options: {
  readonly queue: JobQueue.JobQueueShape
  readonly ownerId: string
  readonly nodeName: string
  readonly leaseMs: number
  /** The lease lapsed: stop every run of this process and write nothing more for them. */
  readonly onLapse: () => void
}): Effect.Effect<Lease> =>
  Effect.map(Clock.currentTimeMillis, (startedAt) => {
    const ids = new Set([options.ownerId])
    let owner = { id: options.ownerId, node: options.nodeName, host: hostname(), pid: process.pid }
    // Until the first heartbeat is written the lease is counted from the start (nothing runs before it anyway).
    let lastBeat = startedAt
    let written = false
    const held = (now: number) => now - lastBeat < options.leaseMs
    const beat = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (!held(now)) {
        options.onLapse()
        if (written) {
          // The old id's record is left as it is (stale): its jobs are orphans for every process, this one included.
          owner = { ...owner, id: newOwnerId() }
          ids.add(owner.id)
          written = false
          yield* Effect.logWarning(
            `node ${owner.node}: no heartbeat written for ${now - lastBeat} ms (lease ${options.leaseMs} ms); ` +
              "its runs were given up, it rejoins as a new owner"
          )
        }
      }
      // The lease runs from the instant before the write (the instant the store records, too).
      yield* options.queue.heartbeat(owner, now)
      lastBeat = now
      written = true
    })
    return {
      owner: () => owner,
      isMine: (id) => ids.has(id),
      held,
      beat,
      release: Effect.suspend(() => options.queue.release(owner.id))
    }
  })
