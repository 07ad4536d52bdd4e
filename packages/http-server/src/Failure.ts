/**
 * What a failed request answers. Every route's error channel is the closed union {@link RouteError} — the job model's
 * errors, the engine's, the tools', the accounts', and the few this package raises itself — and one total table gives
 * each tag its ArcGIS code, message and details, from which both envelopes (REST and admin) and the HTTP status (when
 * real status codes are on) are made. A new error is a type error here until its row exists; nothing becomes a 500 by
 * omission.
 *
 * @module
 */
import type { JobError, JobFiles, SecurityStore, Uploads } from "@geojobs/core"
import type { EngineError } from "@geojobs/engine"
import type { GPValue } from "@geojobs/tools"
import { Data } from "effect"
import type { InvalidAccount, InvalidCredentials, InvalidToken, RefererMismatch, TokenRequired } from "./Accounts.ts"
import type { ServiceStopped } from "./ServiceControl.ts"
import type { TooManyAttempts } from "./SignInThrottle.ts"

/**
 * A failure ready to render in either envelope.
 *
 * @category models
 */
export interface Failure {
  readonly code: number
  readonly message: string
  readonly details: ReadonlyArray<string>
  readonly messageCode?: string | undefined
  /**
   * The HTTP status of the HTML page, where it differs from `code`: ArcGIS answers some refusals with code 500 in its
   * envelope (a finished job's cancel, a failed synchronous tool), which a browser's page should not call a server
   * error.
   */
  readonly htmlStatus?: number | undefined
}

/**
 * The caller may not do this (authenticated, but without the privilege or role).
 *
 * @category errors
 */
export class Forbidden extends Data.TaggedError("Forbidden")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/**
 * Something that does not exist here (or that the caller may not know of).
 *
 * @category errors
 */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly what: string }> {
  override get message(): string {
    return `${this.what} does not exist or is inaccessible.`
  }
}

/**
 * A request parameter with a value the operation cannot use; `detail` names the parameter.
 *
 * @category errors
 */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{
  readonly parameter: string
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * An operation that takes POST only, asked for with GET.
 *
 * @category errors
 */
export class MethodNotAllowed extends Data.TaggedError("MethodNotAllowed")<{ readonly operation: string }> {
  override get message(): string {
    return `${this.operation} is a POST operation`
  }
}

/**
 * `submitJob` on a synchronous service, or `execute` on an asynchronous one.
 *
 * @category errors
 */
export class WrongExecutionType extends Data.TaggedError("WrongExecutionType")<{
  readonly service: string
  readonly synchronous: boolean
}> {
  override get message(): string {
    return this.synchronous
      ? `${this.service} is synchronous: use execute.`
      : `${this.service} is asynchronous: use submitJob.`
  }
}

/**
 * A result asked for before the job succeeded.
 *
 * @category errors
 */
export class NoResultsYet extends Data.TaggedError("NoResultsYet")<{
  readonly jobId: string
  readonly status: string
}> {
  override get message(): string {
    return `Job ${this.jobId} has not succeeded (it is ${this.status}): it has no results yet.`
  }
}

/**
 * A synchronous `execute` whose job did not succeed.
 *
 * @category errors
 */
export class ToolFailed extends Data.TaggedError("ToolFailed")<{
  readonly task: string
  readonly status: string
  readonly messages: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Error executing tool ${this.task}: ${this.status}. ${this.messages.join(" ")}`
  }
}

/**
 * The admin `cancel` of a job that cannot be cancelled (ArcGIS answers it with 500 and this text).
 *
 * @category errors
 */
export class CannotCancel extends Data.TaggedError("CannotCancel")<{ readonly jobId: string }> {
  override get message(): string {
    return `Unable to cancel job :[${this.jobId}]`
  }
}

/**
 * Every error a route may fail with.
 *
 * @category errors
 */
export type RouteError =
  | JobError.JobError
  | JobError.NoSuchResource
  | JobFiles.NoSuchFile
  | JobFiles.JobFilesError
  | EngineError.NoSuchService
  | EngineError.NoSuchTask
  | EngineError.EngineStopped
  | GPValue.InvalidParameter
  | SecurityStore.NoSuchUser
  | SecurityStore.UserExists
  | SecurityStore.UnknownRole
  | SecurityStore.SecurityStoreError
  | InvalidCredentials
  | TooManyAttempts
  | InvalidAccount
  | TokenRequired
  | InvalidToken
  | RefererMismatch
  | Forbidden
  | NotFound
  | InvalidInput
  | MethodNotAllowed
  | WrongExecutionType
  | NoResultsYet
  | ToolFailed
  | CannotCancel
  | Uploads.NoSuchItem
  | Uploads.InvalidItemState
  | Uploads.UploadTooLarge
  | Uploads.UnsupportedFileType
  | Uploads.UploadsError
  | ServiceStopped

const invalidInput = "Invalid or missing input parameters."
const forbidden = "You do not have permissions to access this resource or perform this operation."
const internal = "Unable to complete operation."

const notFound = (e: { readonly message: string }): Failure => ({ code: 404, message: e.message, details: [] })
const badInput = (e: { readonly message: string }): Failure => ({
  code: 400,
  message: invalidInput,
  details: [e.message]
})
// Infrastructure failures are logged with their cause; the client learns only that the server failed.
const hidden = (): Failure => ({ code: 500, message: internal, details: [] })
/**
 * A store that cannot be reached (PostgreSQL down, SQLite's file locked past its wait): 503, as a temporary state the
 * client may retry, never the cause (it goes to the log with the request).
 */
const storeUnavailable = (): Failure => ({
  code: 503,
  message: "The server's database is unavailable at the moment; try again shortly.",
  details: []
})

/**
 * The table: every tag of {@link RouteError} and what it answers. Total by its type.
 *
 * @category models
 */
export const table: { readonly [T in RouteError["_tag"]]: (error: Extract<RouteError, { _tag: T }>) => Failure } = {
  NoSuchJob: notFound,
  NoSuchResource: notFound,
  NoSuchService: notFound,
  NoSuchTask: notFound,
  NoSuchFile: () => ({ code: 404, message: "File does not exist or is inaccessible.", details: [] }),
  NotFound: notFound,
  NoSuchUser: notFound,
  UnknownRole: badInput,
  UserExists: (e) => ({ code: 409, message: invalidInput, details: [e.message] }),
  DuplicateJob: hidden,
  StaleRevision: (e) => ({ code: 409, message: "The job changed meanwhile: try again.", details: [e.message] }),
  InvalidTransition: badInput,
  InvalidReference: badInput,
  InvalidQuery: badInput,
  InvalidParameter: badInput,
  InvalidInput: badInput,
  InvalidAccount: badInput,
  WrongExecutionType: badInput,
  NoResultsYet: badInput,
  MethodNotAllowed: (e) => ({ code: 405, message: invalidInput, details: [e.message] }),
  InvalidCredentials: () => ({
    code: 400,
    message: "Unable to generate token.",
    details: ["Invalid username or password."]
  }),
  TooManyAttempts: (e) => ({ code: 429, message: "Unable to generate token.", details: [e.message] }),
  TokenRequired: () => ({ code: 499, message: "Token Required", details: [], messageCode: "GWM_0003" }),
  InvalidToken: () => ({ code: 498, message: "Invalid token.", details: [] }),
  RefererMismatch: (e) => ({ code: 498, message: "Invalid token.", details: [e.message] }),
  Forbidden: (e) => ({ code: 403, message: forbidden, details: [e.message] }),
  EngineStopped: (e) => ({ code: 503, message: e.message, details: [] }),
  ToolFailed: (e) => ({ code: 500, message: invalidInput, details: [e.message], htmlStatus: 422 }),
  CannotCancel: (e) => ({ code: 500, message: invalidInput, details: [e.message], htmlStatus: 409 }),
  // Jobs already submitted run to completion; the details say how the service comes back.
  ServiceStopped: (e) => ({
    code: 503,
    message: e.message,
    details: [
      `An administrator stopped ${e.service}; jobs submitted before run to completion. It takes jobs again once started (admin/services/…/${e.service.split("/").pop()}.GPServer/start).`
    ]
  }),
  NoSuchItem: notFound,
  InvalidItemState: badInput,
  // ArcGIS's "request entity too large", naming the limit the service sets.
  UploadTooLarge: (e) => ({ code: 413, message: e.message, details: [], htmlStatus: 413 }),
  UnsupportedFileType: badInput,
  UploadsError: hidden,
  JobStoreError: storeUnavailable,
  JobFilesError: hidden,
  SecurityStoreError: storeUnavailable
}

/**
 * The failure for a route's error.
 *
 * @category constructors
 */
export const fromError = (error: RouteError): Failure => (table[error._tag] as (e: RouteError) => Failure)(error)

/**
 * Whether a value is a route error (a tagged error with a row in the table).
 *
 * @category guards
 */
export const isRouteError = (u: unknown): u is RouteError =>
  typeof u === "object" &&
  u !== null &&
  typeof (u as { _tag?: unknown })._tag === "string" &&
  Object.hasOwn(table, (u as { _tag: string })._tag)

/**
 * The failure for a defect or an error outside the union (a bug): a 500 that hides the internals.
 *
 * @category constructors
 */
export const unexpected: Failure = { code: 500, message: internal, details: [] }
