/**
 * What a failed request on an OGC path answers: an OGC API exception (RFC 7807) with the real HTTP status — never the
 * ArcGIS envelope, which stays on the ArcGIS paths. The OGC routes' error channel is the closed union
 * {@link OgcError} (every route error, the grammar's `NoSuchProcess`, and this module's own), and one total table —
 * the OGC sibling of `Failure.table` — gives each tag its exception. A new error is a type error here until its row
 * exists. Jobs, processes and results the caller may not see answer as missing ones do.
 *
 * @module
 */
import { OgcException } from "@geojobs/core"
import { Data } from "effect"
import { isRouteError, type RouteError } from "./Failure.ts"

/**
 * A request body in a media type the operation does not read (execute takes JSON): 415.
 *
 * @category errors
 */
export class UnsupportedMediaType extends Data.TaggedError("UnsupportedMediaType")<{
  readonly received: string
  readonly expected: string
}> {
  override get message(): string {
    return `The request body is ${this.received || "of no media type"}; this operation reads ${this.expected}.`
  }
}

/**
 * A method the resource does not answer: 405, with the methods it does.
 *
 * @category errors
 */
export class MethodNotSupported extends Data.TaggedError("MethodNotSupported")<{
  readonly method: string
  readonly allowed: ReadonlyArray<string>
}> {
  override get message(): string {
    return `This resource does not answer ${this.method}; it answers ${this.allowed.join(", ")}.`
  }
}

/**
 * A job that has no results and will have none (it failed, or was cancelled).
 *
 * @category errors
 */
export class JobNotSuccessful extends Data.TaggedError("JobNotSuccessful")<{
  readonly jobId: string
  readonly status: string
  readonly messages: ReadonlyArray<string>
}> {
  override get message(): string {
    return [`Job ${this.jobId} did not succeed (${this.status}): it has no results.`, ...this.messages].join(" ")
  }
}

/**
 * Every error an OGC route may fail with.
 *
 * @category errors
 */
export type OgcError =
  | RouteError
  | OgcException.NoSuchProcess
  | UnsupportedMediaType
  | MethodNotSupported
  | JobNotSuccessful

const { types, make } = OgcException

const row =
  (type: OgcException.ExceptionType, title: string, status: number) =>
  (e: { readonly message: string }): OgcException.OgcException =>
    make({ type, title, status, detail: e.message })
const notFound = row(types.notFound, "Not found", 404)
const noSuchJob = row(types.noSuchJob, "No such job", 404)
const noSuchProcess = row(types.noSuchProcess, "No such process", 404)
const invalid = row(types.invalidParameter, "Invalid parameter", 400)
const unauthorized = (detail: string) => () =>
  make({ type: types.unauthorized, title: "Unauthorized", status: 401, detail })
const storeUnavailable = () =>
  make({
    type: types.unavailable,
    title: "Service unavailable",
    status: 503,
    detail: "The server's database is unavailable at the moment; try again shortly."
  })
// Infrastructure failures are logged with their cause; the client learns only that the server failed.
const hidden = () =>
  make({ type: types.serverError, title: "Server error", status: 500, detail: "Unable to complete operation." })

/**
 * The table: every tag of {@link OgcError} and its exception. Total by its type.
 *
 * @category models
 */
export const table: {
  readonly [T in OgcError["_tag"]]: (error: Extract<OgcError, { _tag: T }>) => OgcException.OgcException
} = {
  NoSuchJob: noSuchJob,
  NoSuchProcess: noSuchProcess,
  NoSuchService: noSuchProcess,
  NoSuchTask: noSuchProcess,
  NoSuchResource: notFound,
  NoSuchFile: () => make({ type: types.notFound, title: "Not found", status: 404, detail: "No such file." }),
  NotFound: notFound,
  NoSuchUser: notFound,
  NoResultsYet: row(types.resultNotReady, "Result not ready", 404),
  JobNotSuccessful: row(types.jobFailed, "Job failed", 500),
  ToolFailed: row(types.jobFailed, "Job failed", 500),
  InvalidParameter: (e) =>
    make({
      type: types.invalidParameter,
      title: "Invalid input",
      status: 400,
      detail: e.message,
      extra: { input: e.parameter }
    }),
  InvalidInput: (e) =>
    make({
      type: types.invalidParameter,
      title: "Invalid parameter",
      status: 400,
      detail: e.message,
      extra: { parameter: e.parameter }
    }),
  InvalidReference: invalid,
  InvalidQuery: (e) =>
    make({
      type: types.invalidParameter,
      title: "Invalid parameter",
      status: 400,
      detail: e.message,
      extra: { parameter: e.parameter }
    }),
  InvalidTransition: row(types.conflict, "Conflict", 409),
  InvalidAccount: invalid,
  UnknownRole: invalid,
  WrongExecutionType: invalid,
  UserExists: row(types.conflict, "Conflict", 409),
  StaleRevision: row(types.conflict, "Conflict", 409),
  DuplicateJob: hidden,
  UnsupportedMediaType: row(types.unsupportedMediaType, "Unsupported media type", 415),
  MethodNotSupported: row(types.methodNotAllowed, "Method not allowed", 405),
  MethodNotAllowed: row(types.methodNotAllowed, "Method not allowed", 405),
  InvalidCredentials: row(types.unauthorized, "Unauthorized", 401),
  TooManyAttempts: row(types.tooManyRequests, "Too many requests", 429),
  TokenRequired: unauthorized("This resource needs a token: send Authorization: Bearer <token>."),
  InvalidToken: unauthorized("Invalid token."),
  RefererMismatch: unauthorized("Invalid token."),
  Forbidden: row(types.forbidden, "Forbidden", 403),
  CannotCancel: row(types.conflict, "Conflict", 409),
  EngineStopped: row(types.unavailable, "Service unavailable", 503),
  ServiceStopped: row(types.unavailable, "Service unavailable", 503),
  // Uploaded items (an OGC input by itemID goes through the same checks).
  NoSuchItem: notFound,
  InvalidItemState: invalid,
  UploadTooLarge: row(types.payloadTooLarge, "Payload too large", 413),
  UnsupportedFileType: invalid,
  UploadsError: hidden,
  // A store that cannot be reached: a temporary state (see `Failure.table`).
  JobStoreError: storeUnavailable,
  JobFilesError: hidden,
  SecurityStoreError: storeUnavailable
}

const ownTags = new Set(["NoSuchProcess", "UnsupportedMediaType", "MethodNotSupported", "JobNotSuccessful"])

/**
 * Whether a value is an OGC route error (a tagged error with a row in the table).
 *
 * @category guards
 */
export const isOgcError = (u: unknown): u is OgcError =>
  isRouteError(u) || (typeof u === "object" && u !== null && ownTags.has(String((u as { _tag?: unknown })._tag)))

/**
 * The exception for an OGC route's error.
 *
 * @category constructors
 */
export const fromError = (error: OgcError): OgcException.OgcException =>
  (table[error._tag] as (e: OgcError) => OgcException.OgcException)(error)

/**
 * The exception for a defect or an error outside the union (a bug): a 500 that hides the internals.
 *
 * @category constructors
 */
export const unexpected: OgcException.OgcException = hidden()

/**
 * The exception for an HTTP-level failure Fastify raised before a route ran (a body too large, unreadable JSON, a
 * media type with no parser), by its status.
 *
 * @category constructors
 */
export const fromStatus = (status: number, detail: string): OgcException.OgcException =>
  status === 413
    ? make({ type: types.payloadTooLarge, title: "Payload too large", status, detail: "The request is too large." })
    : status === 415
      ? make({ type: types.unsupportedMediaType, title: "Unsupported media type", status, detail })
      : status === 429
        ? make({ type: types.tooManyRequests, title: "Too many requests", status, detail: "Try again later." })
        : status === 404
          ? make({ type: types.notFound, title: "Not found", status, detail })
          : status >= 500
            ? hidden()
            : make({ type: types.invalidParameter, title: "Bad request", status: Math.max(status, 400), detail })
