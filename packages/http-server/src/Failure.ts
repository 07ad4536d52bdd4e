/**
 * What a failed request answers: an ArcGIS error code, message and details, from any tagged error the server can meet
 * — unknown service, task or job (404), bad input (400 "Invalid or missing input parameters."), missing, invalid or
 * mismatched tokens (499, 498), missing privileges (403). One table, so every route answers the same way.
 *
 * @module
 */
import { Data } from "effect"

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
 * A request the server cannot make sense of (a bad path, a missing parameter, a wrong method).
 *
 * @category errors
 */
export class BadRequest extends Data.TaggedError("BadRequest")<{ readonly detail: string; readonly code?: number }> {
  override get message(): string {
    return this.detail
  }
}

/**
 * Something that does not exist here.
 *
 * @category errors
 */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly what: string }> {
  override get message(): string {
    return `${this.what} does not exist or is inaccessible.`
  }
}

const invalidInput = "Invalid or missing input parameters."
const forbidden = "You do not have permissions to access this resource or perform this operation."

const table: Readonly<Record<string, (error: { readonly message: string }) => Failure>> = {
  NoSuchService: (e) => ({ code: 404, message: e.message, details: [] }),
  NoSuchTask: (e) => ({ code: 404, message: e.message, details: [] }),
  NoSuchJob: (e) => ({ code: 404, message: e.message, details: [] }),
  NotFound: (e) => ({ code: 404, message: e.message, details: [] }),
  InvalidParameter: (e) => ({ code: 400, message: invalidInput, details: [e.message] }),
  InvalidReference: (e) => ({ code: 400, message: invalidInput, details: [e.message] }),
  InvalidTransition: (e) => ({ code: 400, message: invalidInput, details: [e.message] }),
  InvalidQuery: (e) => ({ code: 400, message: invalidInput, details: [e.message] }),
  BadRequest: (e) => ({ code: (e as BadRequest).code ?? 400, message: invalidInput, details: [e.message] }),
  InvalidCredentials: () => ({
    code: 400,
    message: "Unable to generate token.",
    details: ["Invalid username or password."]
  }),
  TokenRequired: () => ({ code: 499, message: "Token Required", details: [], messageCode: "GWM_0003" }),
  InvalidToken: () => ({ code: 498, message: "Invalid token.", details: [] }),
  RefererMismatch: (e) => ({ code: 498, message: "Invalid token.", details: [e.message] }),
  Forbidden: (e) => ({ code: 403, message: forbidden, details: [e.message] }),
  EngineStopped: (e) => ({ code: 503, message: e.message, details: [] })
}

/**
 * The failure for an error: by its `_tag` when known, else a 500 that hides the internals.
 *
 * @category constructors
 */
export const fromError = (error: unknown): Failure => {
  const tag = typeof error === "object" && error !== null ? (error as { _tag?: unknown })._tag : undefined
  const entry = typeof tag === "string" ? table[tag] : undefined
  if (entry !== undefined) return entry(error as { message: string })
  return { code: 500, message: "Unable to complete operation.", details: [] }
}
