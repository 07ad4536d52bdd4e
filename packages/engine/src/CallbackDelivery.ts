/**
 * Delivers OGC callbacks from the store's outbox (core's `CallbackOutbox`) as webhooks: it claims the due ones under
 * a lease (with several nodes each is tried by one at a time), POSTs each body with a time limit, and records the
 * delivery, or the failed attempt with its next try — exponential backoff with a cap, given up after a number of
 * attempts. Targets are checked by `UrlGuard` (http(s) only; an address that is not public is refused unless its host
 * is allowed), on the addresses the connection itself resolves; a refused target is not retried.
 *
 * Each POST carries `GeoJobs-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` when a secret is set
 * (receivers check it and the timestamp's age), `GeoJobs-Event` (`inProgress`, `success` or `failed`) and
 * `GeoJobs-Delivery` (the callback's id, the same on every attempt: delivery is at least once). Node's `fetch` takes
 * no DNS lookup of its own, so the POST goes through `node:http`/`node:https` with `UrlGuard.lookup`.
 *
 * @module
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto"
import * as http from "node:http"
import * as https from "node:https"
import { Callback, type CallbackOutbox } from "@geojobs/core"
import { Clock, Effect, Redacted, Schedule } from "effect"
import * as UrlGuard from "./UrlGuard.ts"

/**
 * How callbacks are delivered. Durations are milliseconds.
 *
 * @category models
 */
export interface Settings {
  /** The HMAC key of the signatures; unsigned without one. Kept redacted: logs never show it. */
  readonly secret?: Redacted.Redacted<string> | undefined
  /** Hosts delivered to although they are, or resolve to, addresses that are not public. */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** Retries (default 1 s doubling to 10 min, 12 attempts). */
  readonly backoff?: Partial<Callback.Backoff> | undefined
  /** One POST's time limit (default 10 000). */
  readonly timeoutMs?: number | undefined
  /** How often the outbox is checked for due callbacks (default 1000). */
  readonly pollIntervalMs?: number | undefined
  /** At most this many POSTs at once (default 8). */
  readonly concurrency?: number | undefined
}

/** The defaults. @category models */
export const defaults = { timeoutMs: 10_000, pollIntervalMs: 1_000, concurrency: 8 } as const

/** The signature header's name. @category models */
export const signatureHeader = "GeoJobs-Signature"

/**
 * The signature of a body sent at `timestamp` (unix seconds): hex HMAC-SHA256 of `<timestamp>.<body>`.
 *
 * @category constructors
 */
export const sign = (secret: string, timestamp: number, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")

/**
 * Checks a signature header against the body as received: a `v1` that matches, with a timestamp within
 * `toleranceSeconds` of `nowSeconds` (default 300). For receivers written in TypeScript, and the tests.
 *
 * @category guards
 */
export const verify = (
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300
): boolean => {
  const parts = new Map(
    header.split(",").map((p) => {
      const at = p.indexOf("=")
      return [p.slice(0, at).trim(), p.slice(at + 1).trim()] as const
    })
  )
  const t = Number(parts.get("t"))
  const v1 = parts.get("v1") ?? ""
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false
  return timingSafeEqual(Buffer.from(sign(secret, t, body), "hex"), Buffer.from(v1, "hex"))
}

/**
 * What an attempt came to.
 *
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Delivered" }
  /** `attempted`: whether a request was sent; `refused`: the target is not allowed (never retried). */
  | { readonly _tag: "Failed"; readonly error: string; readonly attempted: boolean; readonly refused: boolean }

const refusal = (reason: string): Outcome => ({
  _tag: "Failed",
  error: `refused: ${reason}`,
  attempted: false,
  refused: true
})

/**
 * POSTs one callback (no retry here).
 *
 * @category constructors
 */
export const post = (
  delivery: Pick<CallbackOutbox.Delivery, "id" | "event" | "uri" | "body">,
  settings: Settings,
  nowMs: number
): Effect.Effect<Outcome> => {
  const allowed = settings.allowedHosts ?? []
  const problem = UrlGuard.problem(delivery.uri, allowed)
  if (problem !== undefined) return Effect.succeed(refusal(problem))
  const url = new URL(delivery.uri)
  const timeoutMs = settings.timeoutMs ?? defaults.timeoutMs
  const timestamp = Math.floor(nowMs / 1000)
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(delivery.body)),
    "user-agent": "GeoJobs",
    "geojobs-event": delivery.event,
    "geojobs-delivery": delivery.id
  }
  if (settings.secret !== undefined) {
    headers[signatureHeader.toLowerCase()] =
      `t=${timestamp},v1=${sign(Redacted.value(settings.secret), timestamp, delivery.body)}`
  }
  return Effect.callback<Outcome>((resume, signal) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const client = url.protocol === "https:" ? https : http
    const request = client.request(
      url,
      {
        method: "POST",
        headers,
        lookup: UrlGuard.lookup(url, allowed) as never,
        signal: AbortSignal.any([timeout, signal])
      },
      (response) => {
        const status = response.statusCode ?? 0
        // The answer's body means nothing here; read it off so the socket is freed.
        response.resume()
        response.on("error", () => undefined)
        resume(
          Effect.succeed(
            status >= 200 && status < 300
              ? { _tag: "Delivered" }
              : {
                  _tag: "Failed",
                  error: `HTTP ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`,
                  attempted: true,
                  refused: false
                }
          )
        )
      }
    )
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === UrlGuard.refusedCode) return resume(Effect.succeed(refusal(error.message)))
      const message =
        timeout.aborted || error.name === "TimeoutError" || error.name === "AbortError"
          ? `no answer within ${timeoutMs} ms`
          : `${error.code ?? error.name}: ${error.message}`
      return resume(Effect.succeed({ _tag: "Failed", error: message, attempted: true, refused: false }))
    })
    request.end(delivery.body)
  })
}

/**
 * The delivery loop over an outbox: claims due callbacks, POSTs them and records how each went; runs until
 * interrupted (the engine's shutdown). A callback whose lease runs out while its POST hangs is tried again elsewhere.
 *
 * @category constructors
 */
export const run = (outbox: CallbackOutbox.CallbackOutboxShape, settings: Settings = {}): Effect.Effect<never> => {
  const owner = `callbacks-${randomUUID()}`
  const backoff: Callback.Backoff = { ...Callback.defaultBackoff, ...settings.backoff }
  const timeoutMs = settings.timeoutMs ?? defaults.timeoutMs
  const concurrency = Math.max(1, settings.concurrency ?? defaults.concurrency)
  // Long enough for a POST at its time limit and its mark: a claim outlives the attempt it was made for.
  const leaseMs = timeoutMs * 2 + 5_000

  const deliver = (d: CallbackOutbox.Delivery) =>
    Effect.gen(function* () {
      const outcome = yield* post(d, settings, yield* Clock.currentTimeMillis)
      const now = yield* Clock.currentTimeMillis
      if (outcome._tag === "Delivered") return yield* outbox.markDelivered(d.id, { owner, now })
      const attempts = d.attempts + (outcome.attempted ? 1 : 0)
      const next = outcome.refused ? null : Callback.nextAttempt(backoff, attempts, now)
      yield* Effect.logWarning(
        `callback ${d.id} to ${d.uri}: ${outcome.error}${next === null ? " (given up)" : ` (attempt ${attempts})`}`
      )
      yield* outbox.markFailed(d.id, {
        owner,
        now,
        error: outcome.error,
        attempted: outcome.attempted,
        nextAttempt: next
      })
    })

  const round = Effect.gen(function* () {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const due = yield* outbox.claimDue({ owner, now, leaseMs, max: concurrency })
      if (due.length === 0) return
      yield* Effect.forEach(due, deliver, { concurrency, discard: true })
    }
  }).pipe(Effect.catch((error) => Effect.logError("callback delivery failed", error)))

  return Effect.repeat(round, Schedule.spaced(settings.pollIntervalMs ?? defaults.pollIntervalMs)).pipe(
    Effect.andThen(Effect.never)
  )
}
