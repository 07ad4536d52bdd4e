/**
 * Who hears that a job finished in this process: the `awaitJob` waiters (woken at once rather than at their next
 * poll) and the `onFinished` listeners (metrics).
 *
 * @module
 */
import type { Job } from "@geojobs/core"
import { Deferred, Effect } from "effect"

/**
 * The completions of one engine.
 *
 * @category models
 */
export interface Completion {
  /** Tells waiters and listeners that `job` is finished. */
  readonly settle: (job: Job.Job) => void
  /** Registers a waiter for the job now; the answer resolves when this process finishes it. */
  readonly waitFor: (id: string) => Effect.Effect<Job.Job>
  /** Stops waiting for a job (its end was seen in the store). */
  readonly forget: (id: string) => void
  readonly onFinished: (listener: (job: Job.Job) => void) => () => void
}

/** @category constructors */
export const make = (): Completion => {
  const listeners = new Set<(job: Job.Job) => void>()
  const waiters = new Map<string, Deferred.Deferred<Job.Job>>()
  return {
    settle: (job) => {
      for (const listener of listeners) {
        try {
          listener(job)
        } catch {
          // A listener's failure is its own; the job is finished either way.
        }
      }
      const waiter = waiters.get(job.id)
      if (waiter !== undefined) {
        waiters.delete(job.id)
        Deferred.doneUnsafe(waiter, Effect.succeed(job))
      }
    },
    waitFor: (id) => {
      const waiter = waiters.get(id) ?? Deferred.makeUnsafe<Job.Job>()
      waiters.set(id, waiter)
      return Deferred.await(waiter)
    },
    forget: (id) => void waiters.delete(id),
    onFinished: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}
