/**
 * The dispatcher: claims queued jobs from the store and hands them to the worker runner, never more than this
 * process's free worker slots and never past a service's `maxConcurrentJobs` (counted by the store over every
 * process). It claims when woken (a submission, a finished job, recovered jobs, a queue signal of work from any
 * process) and at least every poll interval, for jobs submitted through other processes whose signals did not reach
 * this one — the interval is asked anew before every wait, since it is slow only while signals cross processes. It
 * claims nothing while this process does not hold its lease (see `Lease`): whatever it claimed then could already be
 * another process's orphan.
 *
 * A claim that fails may still have committed (the connection broke after the store applied it, before its answer
 * came): then jobs are held under this process's id that no runner runs, and nothing else would ever move them —
 * recovery leaves a live process's jobs alone. So after a failed claim the loop claims nothing new until it has
 * adopted them: every held job of this owner that the runner was not handed is started under the claim the store
 * holds for it (the run the claim was for). Until then the slots those jobs take are not counted anywhere but here,
 * which is why no other claim comes first.
 *
 * @module
 */
import { type JobQueue, JobStatus, type JobStore } from "@geojobs/core"
import { Clock, Effect, Queue } from "effect"
import * as ServiceRegistry from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"
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
 * A dispatcher for this process (`owner`), running up to `slots` jobs at once, CPU-bound ones up to `cpuThreads`.
 *
 * @category constructors
 */
export const make = (options: {
  readonly queue: JobQueue.JobQueueShape
  readonly store: JobStore.JobStoreShape
  readonly registry: ServiceRegistry.ServiceRegistry["Service"]
  readonly runner: WorkerRunner
  /** This process's owner id now (it changes after a lapsed lease). */
  readonly owner: () => string
  /** Whether this process holds its lease at `now`. */
  readonly leaseHeld: (now: number) => boolean
  /** Jobs this process runs at once, of every kind. */
  readonly slots: number
  /** CPU-bound jobs (`ServiceRegistry.executionOf`) this process runs at once: its worker threads. */
  readonly cpuThreads: number
  /** The wait before the next claim when nothing wakes the dispatcher, asked before every wait. */
  readonly pollIntervalMs: () => number
}): Effect.Effect<Dispatcher> =>
  Effect.gen(function* () {
    const { queue, store, registry, runner } = options
    const wakeups = yield* Queue.sliding<void>(1)
    const wake = (): void => {
      Queue.offerUnsafe(wakeups, undefined)
    }
    let accepting = true
    // Each service's maxConcurrentJobs, as data the store evaluates inside its claim; CPU-bound services and I/O-bound
    // ones in claims of their own, since only the first are held to the worker threads.
    const limitsOf = (execution: "cpu" | "io") =>
      registry.services
        .filter((s) => ServiceRegistry.executionOf(s) === execution)
        .map((s) => ({ service: s.ref, max: s.maxConcurrentJobs }))
    const cpuLimits = limitsOf("cpu")
    const ioLimits = limitsOf("io")
    /** A claim failed: it may have committed, and its jobs are to be adopted before anything else is claimed. */
    let unsure = false
    /** Starts this owner's held jobs that the runner was not handed (see the module's header); then claims are sure. */
    const adopt = Effect.gen(function* () {
      let adopted = 0
      for (const held of yield* queue.claimsOf(options.owner())) {
        if (runner.isRunning(held.jobId)) continue
        const job = yield* StoredJob.find(store, held.jobId)
        if (job === undefined || !JobStatus.table[job.status].held) continue
        yield* Effect.logWarning(`adopting job ${job.id}: a claim whose answer was lost had taken it for this node`)
        yield* runner.start({ job, claim: held.claim })
        adopted++
      }
      unsure = false
      return adopted
    }).pipe(
      Effect.uninterruptible,
      Effect.catch((error) => Effect.as(Effect.logError("could not look for jobs a failed claim took", error), 0))
    )
    /** Claims up to `max` jobs of the services of `limits` and starts them; answers how many. */
    const claimUpTo = (max: number, limits: ReadonlyArray<JobQueue.ServiceLimit>) =>
      max <= 0 || limits.length === 0
        ? Effect.succeed(0)
        : // A claimed job must reach a runner: once the store has moved it to Executing, nothing may interrupt us.
          Effect.uninterruptible(
            queue.claim({ owner: options.owner(), max, limits }).pipe(
              Effect.catch((error) =>
                Effect.as(
                  Effect.andThen(
                    Effect.sync(() => (unsure = true)),
                    Effect.logError("claim failed", error)
                  ),
                  []
                )
              ),
              Effect.tap((jobs) => Effect.forEach(jobs, runner.start, { discard: true })),
              Effect.map((jobs) => jobs.length)
            )
          )
    const loop = Effect.gen(function* () {
      while (true) {
        yield* Effect.raceFirst(Queue.take(wakeups), Effect.sleep(options.pollIntervalMs()))
        if (!accepting) continue
        if (!options.leaseHeld(yield* Clock.currentTimeMillis)) continue
        if (unsure) {
          const adopted = yield* adopt
          if (unsure) continue
          // Claims wait for the next turn once something was adopted: its run counts in the free slots by then.
          if (adopted > 0) {
            wake()
            continue
          }
        }
        const free = options.slots - runner.size()
        if (free <= 0) continue
        const cpuFree = Math.min(free, options.cpuThreads - runner.sizeOf("cpu"))
        const cpu = yield* claimUpTo(cpuFree, cpuLimits)
        // Not after a failed claim: its jobs (if it committed) are adopted first.
        const io = unsure ? 0 : yield* claimUpTo(free - cpu, ioLimits)
        // Slots filled to the brim: more may be waiting.
        if ((cpu > 0 && cpu === cpuFree) || (io > 0 && io === free - cpu)) wake()
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
