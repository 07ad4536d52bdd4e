/**
 * OGC API exceptions (RFC 7807 problem details, `exception.yaml` of OGC API – Processes 1.0): `type` (a URI),
 * `title`, `status` (the HTTP status, sent as the real status code on OGC paths), `detail` and `instance`, plus
 * members of GeoJobs' own (`input`, `output`, `parameter`) naming what was wrong.
 *
 * The standard defines three types — {@link types}.noSuchProcess, `noSuchJob` and `resultNotReady` (singular, as the
 * 1.0 text and the OGC test suite spell it). For the other failures GeoJobs writes URIs of the same form and
 * namespace, one per kind of failure, as other OGC API servers do; clients should read `status` first.
 * {@link fromJobError} is the one table from the job model's errors to exceptions, the OGC sibling of
 * `ErrorEnvelope.codes`.
 *
 * @module
 */
import { Data } from "effect"
import { z } from "zod"
import type { JobError } from "./JobError.ts"

/**
 * The namespace of the exception types.
 *
 * @category models
 */
export const typePrefix = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"

/**
 * The exception types: the standard's three, then GeoJobs' in the same form.
 *
 * @category models
 */
export const types = {
  noSuchProcess: `${typePrefix}no-such-process`,
  noSuchJob: `${typePrefix}no-such-job`,
  resultNotReady: `${typePrefix}result-not-ready`,
  invalidParameter: `${typePrefix}invalid-parameter`,
  notFound: `${typePrefix}not-found`,
  unauthorized: `${typePrefix}unauthorized`,
  forbidden: `${typePrefix}forbidden`,
  methodNotAllowed: `${typePrefix}method-not-allowed`,
  notAcceptable: `${typePrefix}not-acceptable`,
  conflict: `${typePrefix}conflict`,
  payloadTooLarge: `${typePrefix}payload-too-large`,
  unsupportedMediaType: `${typePrefix}unsupported-media-type`,
  tooManyRequests: `${typePrefix}too-many-requests`,
  jobFailed: `${typePrefix}job-failed`,
  serverError: `${typePrefix}server-error`,
  unavailable: `${typePrefix}service-unavailable`
} as const

/** An exception type. @category models */
export type ExceptionType = (typeof types)[keyof typeof types]

/**
 * zod schema of an exception.
 *
 * @category models
 */
export const schema = z.looseObject({
  type: z.string(),
  title: z.string().optional(),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  instance: z.string().optional()
})

/**
 * An exception document.
 *
 * @category models
 */
export type OgcException = z.output<typeof schema>

/**
 * An exception. `extra` members (`input`, `parameter`, …) follow the standard ones.
 *
 * @category constructors
 */
export const make = (options: {
  readonly type: ExceptionType
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance?: string | undefined
  readonly extra?: Readonly<Record<string, string>> | undefined
}): OgcException => ({
  type: options.type,
  title: options.title,
  status: options.status,
  detail: options.detail,
  ...(options.instance === undefined ? {} : { instance: options.instance }),
  ...options.extra
})

/**
 * No process has this id (or it is no process id at all): 404 `no-such-process`.
 *
 * @category errors
 */
export class NoSuchProcess extends Data.TaggedError("NoSuchProcess")<{ readonly processId: string }> {
  override get message(): string {
    return `Process ${this.processId} does not exist or is inaccessible.`
  }
}

const row =
  (type: ExceptionType, title: string, status: number) =>
  (e: { readonly message: string }): OgcException =>
    make({ type, title, status, detail: e.message })

/**
 * The exception for each job-model error. Total by its type.
 *
 * @category models
 */
export const jobErrorTable: {
  readonly [T in JobError["_tag"]]: (e: Extract<JobError, { _tag: T }>) => OgcException
} = {
  NoSuchJob: row(types.noSuchJob, "No such job", 404),
  DuplicateJob: () =>
    make({ type: types.serverError, title: "Server error", status: 500, detail: "Unable to complete operation." }),
  InvalidTransition: row(types.conflict, "Conflict", 409),
  StaleRevision: row(types.conflict, "Conflict", 409),
  InvalidReference: row(types.invalidParameter, "Invalid parameter", 400),
  NoSuchResource: row(types.notFound, "Not found", 404),
  InvalidQuery: row(types.invalidParameter, "Invalid parameter", 400),
  // Infrastructure failures say only that the server failed; the cause goes to the log.
  JobStoreError: () =>
    make({ type: types.serverError, title: "Server error", status: 500, detail: "Unable to complete operation." })
}

/**
 * The exception for a job-model error.
 *
 * @category constructors
 */
export const fromJobError = (error: JobError): OgcException =>
  (jobErrorTable[error._tag] as (e: JobError) => OgcException)(error)
