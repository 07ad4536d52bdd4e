/**
 * What a client call can fail with: a server's ArcGIS error envelope (REST or admin), a token the server refused
 * (498/499, told apart so callers can sign in again), a network failure, a response that does not match the
 * documented shape, or — from `waitForJob` only — the caller's AbortSignal or the overall timeout. In the Effect API
 * it is a tagged error (`Effect.catchTag("ClientError", …)`); the Promise API rejects with it.
 *
 * @module
 */
import { Data } from "effect"

/**
 * The kinds of failure: `server` (an ArcGIS error envelope or HTTP error status), `token` (498/499: sign in again),
 * `network` (the server could not be reached), `response` (not JSON, or not the documented shape), `aborted` (the
 * caller's AbortSignal stopped `waitForJob`), `timeout` (`waitForJob`'s `timeoutMs` passed; the job goes on).
 *
 * @category models
 */
export type Kind = "server" | "token" | "network" | "response" | "aborted" | "timeout"

/**
 * A failed call.
 *
 * @category errors
 */
export class ClientError extends Data.TaggedError("ClientError")<{
  readonly kind: Kind
  /** The ArcGIS code (400, 403, 404, 498, 499, 500, …) when the server sent one. */
  readonly code?: number | undefined
  readonly detail: string
  readonly details: ReadonlyArray<string>
  readonly url?: string | undefined
}> {
  override get message(): string {
    const code = this.code === undefined ? "" : ` (${this.code})`
    const more = this.details.length > 0 ? `: ${this.details.join("; ")}` : ""
    return `${this.detail}${code}${more}`
  }
}

/** Whether the error means the token is missing, invalid or expired (sign in again). @category guards */
export const isTokenError = (e: unknown): boolean => e instanceof ClientError && e.kind === "token"
