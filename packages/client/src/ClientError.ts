/**
 * What a client call can fail with: a server's ArcGIS error envelope (REST or admin) or OGC API exception, a token the
 * server refused (498/499, or 401 on the OGC paths, told apart so callers can sign in again), a network failure, a
 * response that does not match the documented shape, or — from the waits only — the caller's AbortSignal or the
 * overall timeout. In the Effect API it is a tagged error (`Effect.catchTag("ClientError", …)`); the Promise API
 * rejects with it.
 *
 * An OGC exception keeps its document (`exception`) and names its `problem` — one of core's exception types, read by
 * one total table ({@link problems}) from the type URI, else from the HTTP status — so a caller can tell a missing job
 * from results that are not ready without reading URIs.
 *
 * @module
 */
import { OgcException } from "@geojobs/core"
import { Data } from "effect"

/**
 * The kinds of failure: `server` (an ArcGIS error envelope, an OGC exception or an HTTP error status), `token`
 * (498/499, or an OGC 401: sign in again), `network` (the server could not be reached), `response` (not JSON, not the
 * documented shape, or a name the URL grammar cannot hold), `aborted` (the caller's AbortSignal stopped a wait),
 * `timeout` (a wait's `timeoutMs` passed; the job goes on).
 *
 * @category models
 */
export type Kind = "server" | "token" | "network" | "response" | "aborted" | "timeout"

/**
 * What an OGC exception says went wrong: the name of its type in core's `OgcException.types` (`noSuchJob`,
 * `resultNotReady`, `invalidParameter`, `unauthorized`, …).
 *
 * @category models
 */
export type Problem = keyof typeof OgcException.types

/**
 * A failed call.
 *
 * @category errors
 */
export class ClientError extends Data.TaggedError("ClientError")<{
  readonly kind: Kind
  /** The ArcGIS code (400, 403, 404, 498, 499, 500, …), or the HTTP status of an OGC exception. */
  readonly code?: number | undefined
  readonly detail: string
  readonly details: ReadonlyArray<string>
  readonly url?: string | undefined
  /** For an OGC exception: what went wrong (see {@link Problem}). */
  readonly problem?: Problem | undefined
  /** For an OGC exception: the document as the server sent it. */
  readonly exception?: OgcException.OgcException | undefined
}> {
  override get message(): string {
    const code = this.code === undefined ? "" : ` (${this.code})`
    const more = this.details.length > 0 ? `: ${this.details.join("; ")}` : ""
    return `${this.detail}${code}${more}`
  }
}

/** Whether the error means the token is missing, invalid or expired (sign in again). @category guards */
export const isTokenError = (e: unknown): boolean => e instanceof ClientError && e.kind === "token"

/** Whether the error is an OGC exception of this problem (e.g. `isProblem(e, "resultNotReady")`). @category guards */
export const isProblem = (e: unknown, problem: Problem): boolean => e instanceof ClientError && e.problem === problem

/**
 * Every OGC exception type and the kind of failure it is. Total over core's types: a type added there is a compile
 * error here until it has its row.
 *
 * @category models
 */
export const problems: { readonly [P in Problem]: Kind } = {
  noSuchProcess: "server",
  noSuchJob: "server",
  resultNotReady: "server",
  invalidParameter: "server",
  notFound: "server",
  unauthorized: "token",
  forbidden: "server",
  methodNotAllowed: "server",
  notAcceptable: "server",
  conflict: "server",
  payloadTooLarge: "server",
  unsupportedMediaType: "server",
  tooManyRequests: "server",
  jobFailed: "server",
  serverError: "server",
  unavailable: "server"
}

// Type URIs read by their last segment without case or punctuation, so other servers' spellings of the standard's
// types (`NoSuchProcess`, `no-such-process`, `…/1.0/no-such-job`) name the same problem.
const squash = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]/g, "")
const byName: ReadonlyMap<string, Problem> = new Map(
  (Object.entries(OgcException.types) as ReadonlyArray<readonly [Problem, string]>).flatMap(([problem, uri]) => [
    [squash(uri.slice(OgcException.typePrefix.length)), problem] as const,
    [squash(problem), problem] as const
  ])
)
// Older spellings the standard's drafts and other servers use.
const aliases: ReadonlyMap<string, Problem> = new Map<string, Problem>([
  ["resultsnotready", "resultNotReady"],
  ["invalidparametervalue", "invalidParameter"],
  ["missingparametervalue", "invalidParameter"],
  ["noapplicablecode", "serverError"]
])
// A type no table knows is read by the HTTP status.
const byStatus: ReadonlyMap<number, Problem> = new Map<number, Problem>([
  [400, "invalidParameter"],
  [401, "unauthorized"],
  [403, "forbidden"],
  [404, "notFound"],
  [405, "methodNotAllowed"],
  [406, "notAcceptable"],
  [409, "conflict"],
  [413, "payloadTooLarge"],
  [415, "unsupportedMediaType"],
  [429, "tooManyRequests"],
  [503, "unavailable"]
])

/**
 * What an OGC exception's `type` (and, failing that, the HTTP status) says went wrong.
 *
 * @category constructors
 */
export const problemOf = (type: string, status: number): Problem => {
  const last = type.split(/[/#:]/).at(-1) ?? type
  return (
    byName.get(squash(last)) ??
    aliases.get(squash(last)) ??
    byStatus.get(status) ??
    (status >= 500 ? "serverError" : "invalidParameter")
  )
}

/**
 * The error for an OGC exception answered at `url` with HTTP `status`.
 *
 * @category constructors
 */
export const fromOgcException = (url: string, status: number, exception: OgcException.OgcException): ClientError => {
  const code = exception.status ?? status
  const problem = problemOf(exception.type, code)
  const title = exception.title ?? `HTTP ${code}`
  return new ClientError({
    kind: problems[problem],
    code,
    detail: title,
    details: exception.detail === undefined ? [] : [exception.detail],
    url,
    problem,
    exception
  })
}
