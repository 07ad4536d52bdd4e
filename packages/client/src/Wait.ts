/**
 * Following a job to its end, for both dialects (`Jobs.waitForJob`, `Ogc.waitForJob`): polls that back off from
 * `intervalMs` (500 ms) ×1.5 up to `maxIntervalMs` (5 s), an AbortSignal and an overall timeout that each stop the wait
 * at once — during a poll's fetch or the sleep between polls — with a `ClientError` of kind `aborted` or `timeout`.
 * The job goes on. Sleeps on Effect's `Clock`, so a `TestClock` drives it.
 *
 * @module
 */
import { Effect } from "effect"
import { ClientError } from "./ClientError.ts"
import * as Transport from "./Transport.ts"

/**
 * How long and how often to poll, and what stops the wait.
 *
 * @category models
 */
export interface Limits {
  /** Stop waiting when it aborts (at once, even between polls): fails with kind `aborted`. The job goes on. */
  readonly signal?: AbortSignal | undefined
  /** Give up after this many milliseconds (default: never): fails with kind `timeout`. The job goes on. */
  readonly timeoutMs?: number | undefined
  /** First poll interval, ms (default 500; it grows ×1.5 up to `maxIntervalMs`). */
  readonly intervalMs?: number | undefined
  readonly maxIntervalMs?: number | undefined
}

/**
 * Polls `check` until `done` says its answer is the last, calling `pending` with every other answer.
 *
 * @category combinators
 */
export const until = <A>(
  check: Effect.Effect<A, ClientError>,
  options: {
    readonly done: (a: A) => boolean
    readonly pending?: ((a: A) => void) | undefined
    readonly limits: Limits
    /** The job, its URL, and what the caller may do when it stops waiting (`cancel it`, `dismiss it`). */
    readonly jobId: string
    readonly url: string
    readonly otherwise: string
  }
): Effect.Effect<A, ClientError> => {
  const { limits, jobId, url } = options
  const poll = Effect.gen(function* () {
    let interval = limits.intervalMs ?? 500
    while (true) {
      const a = yield* check
      if (options.done(a)) return a
      options.pending?.(a)
      yield* Effect.sleep(interval)
      interval = Math.min(limits.maxIntervalMs ?? 5000, interval * 1.5)
    }
  })
  // The timeout and the signal each interrupt whatever the loop is doing (a poll's fetch or the sleep between
  // polls), so neither waits for the next poll.
  const timed =
    limits.timeoutMs === undefined
      ? poll
      : Effect.timeoutOrElse(poll, {
          duration: limits.timeoutMs,
          orElse: () =>
            Effect.fail(
              new ClientError({
                kind: "timeout",
                detail: `Job ${jobId} did not finish within ${limits.timeoutMs} ms`,
                details: [`The job goes on; wait again or ${options.otherwise}.`],
                url
              })
            )
        })
  const signal = limits.signal
  if (signal === undefined) return timed
  const abortError = () =>
    new ClientError({
      kind: "aborted",
      detail: `Waiting for job ${jobId} was aborted`,
      details: signal.reason === undefined ? [] : [Transport.reason(signal.reason)],
      url
    })
  const aborted = Effect.callback<never, ClientError>((resume) => {
    const onAbort = () => resume(Effect.fail(abortError()))
    signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })
  return Effect.suspend(() => (signal.aborted ? Effect.fail(abortError()) : Effect.raceFirst(timed, aborted)))
}
