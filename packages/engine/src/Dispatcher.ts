/**
 * The dispatcher: claims queued jobs from the store and hands them to the worker runner, never more than this
 * process's free worker slots and never past a service's `maxConcurrentJobs` (counted by the store over every
 * process). It claims when woken (a submission, a finished job, recovered jobs) and at least every poll interval,
 * for jobs submitted through other processes. It claims nothing while this process does not hold its lease (see
 * `Lease`): whatever it claimed then could already be another process's orphan.
 *
 * @module
 */
import type { JobQueue } from "@geojobs/core"
import { Clock, Effect, Queue } from "effect"
import type { ServiceRegistry } from "./ServiceRegistry.ts"
import type { WorkerRunner } from "./WorkerRunner.ts"

/**
 * The dispatcher's operations.
 *
 * @category models
 */
export interface Dispatcher {
  /** Asks for a claim soon (wake-ups coalesce). */
  readonly wake: () => void
  /** The claim loop; runs until interrupted. */
  readonly loop: Effect.Effect<never>
  /** Whether new jobs are taken (false once shutdown began). */
  readonly accepting: () => boolean
  /** Stops claiming and accepting; for shutdown. */
  readonly stop: () => void
}

/**
 * A dispatcher for this process (`owner`), claiming up to `maxJobs` running jobs at once.
 *
 * @category constructors
 */
export const make = (options: {
  readonly queue: JobQueue.JobQueueShape
  readonly registry: ServiceRegistry["Service"]
  readonly runner: WorkerRunner
  /** This process's owner id now (it changes after a lapsed lease). */
  readonly owner: () => string
  /** Whether this process holds its lease at `now`. */
  readonly leaseHeld: (now: number) => boolean
  readonly maxJobs: number
  readonly pollIntervalMs: number
}): Effect.Effect<Dispatcher> =>
  Effect.gen(function* () {
    const { queue, registry, runner } = options
    const wakeups = yield* Queue.sliding<void>(1)
    const wake = (): void => {
      Queue.offerUnsafe(wakeups, undefined)
    }
    let accepting = true
    // Each service's maxConcurrentJobs, as data the store evaluates inside its claim.
    const limits = registry.services.map((s) => ({ service: s.ref, max: s.maxConcurrentJobs }))
    const loop = Effect.gen(function* () {
      while (true) {
        yield* Effect.raceFirst(Queue.take(wakeups), Effect.sleep(options.pollIntervalMs))
        if (!accepting) continue
        const free = options.maxJobs - runner.size()
        if (free <= 0 || !options.leaseHeld(yield* Clock.currentTimeMillis)) continue
        // A claimed job must reach a runner: once the store has moved it to Executing, nothing may interrupt us.
        const claimed = yield* Effect.uninterruptible(
          queue.claim({ owner: options.owner(), max: free, limits }).pipe(
            Effect.catch((error) => Effect.as(Effect.logError("claim failed", error), [])),
            Effect.tap((jobs) => Effect.forEach(jobs, runner.start, { discard: true }))
          )
        )
        if (claimed.length > 0 && claimed.length === free) wake()
      }
    })
    return {
      wake,
      loop,
      accepting: () => accepting,
      stop: () => {
        accepting = false
      }
    }
  })
