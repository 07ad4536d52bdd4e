/**
 * The client's OGC API – Processes 1.0 operations over a `Session`: the landing page and conformance, the process list
 * and descriptions, execute — synchronous (`raw` or `document` responses, output selection and transmission modes) or
 * asynchronous (`Prefer: respond-async` → 201 Created, `Location` of the job) —, a job's statusInfo, following a job
 * to its end (backing-off polls, an AbortSignal, a timeout), results, dismiss, and the job list with the 1.0 filters
 * and its `next`/`prev` pages. Every URL is built with core's `OgcResource` grammar (the one the server reads), every
 * document is checked against core's OGC schemas, tokens travel as `Authorization: Bearer`, and every OGC exception
 * becomes a `ClientError` naming its `problem` (see `ClientError.problems`).
 *
 * @module
 */
import {
  ErrorEnvelope,
  JobId,
  type JobStatus,
  OgcDocument,
  OgcException,
  OgcProcess,
  OgcResource,
  OgcStatusInfo,
  ServiceRef
} from "@geojobs/core"
import { Effect } from "effect"
import { z } from "zod"
import { ClientError, fromOgcException, problemOf } from "./ClientError.ts"
import type { Session } from "./Session.ts"
import * as Transport from "./Transport.ts"
import * as Wait from "./Wait.ts"

/** A job's OGC status. @category models */
export type Status = JobStatus.OgcStatus

/**
 * Whether a job in each OGC status has ended: successful, failed and dismissed are final (1.0 `statusCode.yaml`).
 * Total over the statuses.
 *
 * @category models
 */
export const final: { readonly [S in Status]: boolean } = {
  accepted: false,
  running: false,
  successful: true,
  failed: true,
  dismissed: true
}

/**
 * What to execute with: the inputs (values, qualified values `{"value": …, "mediaType": …}` or links), which outputs
 * and how each is sent, the response (`raw`, the default, or `document`), callbacks, and whether to ask for an
 * asynchronous execution (`Prefer: respond-async`; a service runs as its execution type allows whatever is asked).
 *
 * @category models
 */
export interface ExecuteOptions {
  readonly inputs?: Readonly<Record<string, unknown>> | undefined
  readonly outputs?: Readonly<Record<string, OgcProcess.Output>> | undefined
  readonly response?: "raw" | "document" | undefined
  readonly subscriber?: z.input<typeof OgcProcess.subscriberSchema> | undefined
  readonly async?: boolean | undefined
}

/**
 * What an execution answered: a job (201 Created: its id, `Location` and statusInfo), a results document, one raw
 * output (its media type, bytes, and its value — parsed JSON for a JSON type, the text for a text type), or one
 * output by reference (204 with a `Link` to it).
 *
 * @category models
 */
export type Execution =
  | {
      readonly _tag: "Job"
      readonly jobId: string
      readonly location: string
      readonly status: OgcStatusInfo.OgcStatusInfo
    }
  | { readonly _tag: "Document"; readonly results: OgcProcess.Results }
  | { readonly _tag: "Raw"; readonly mediaType: string; readonly bytes: Uint8Array; readonly value: unknown }
  | { readonly _tag: "Reference"; readonly href: string; readonly mediaType: string | undefined }

/**
 * The job list's filters (1.0 `job-list`) and paging.
 *
 * @category models
 */
export interface JobQuery {
  readonly type?: string | undefined
  readonly processID?: string | ReadonlyArray<string> | undefined
  readonly status?: Status | ReadonlyArray<Status> | undefined
  /** An RFC 3339 instant, or an interval `start/end` (`..` for an open end). */
  readonly datetime?: string | undefined
  /** Seconds. */
  readonly minDuration?: number | undefined
  readonly maxDuration?: number | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

/** Paging of the process list. @category models */
export interface Paging {
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

/** Options of `waitForJob`. @category models */
export interface WaitOptions extends Wait.Limits {
  /** Called with every statusInfo that is not the last. */
  readonly onProgress?: ((status: OgcStatusInfo.OgcStatusInfo) => void) | undefined
}

/**
 * The OGC operations.
 *
 * @category services
 */
export interface Ogc {
  /** The OGC root (the landing page without its trailing slash). */
  readonly url: string
  readonly landing: Effect.Effect<OgcDocument.Landing, ClientError>
  readonly conformance: Effect.Effect<OgcDocument.Conformance, ClientError>
  readonly processes: (paging?: Paging) => Effect.Effect<OgcProcess.List, ClientError>
  readonly process: (processId: string) => Effect.Effect<OgcProcess.Description, ClientError>
  readonly execute: (processId: string, options?: ExecuteOptions) => Effect.Effect<Execution, ClientError>
  readonly job: (jobId: string) => Effect.Effect<OgcStatusInfo.OgcStatusInfo, ClientError>
  /** Polls the job until its status is final and answers that statusInfo (whatever it is: check `status`). */
  readonly waitForJob: (jobId: string, options?: WaitOptions) => Effect.Effect<OgcStatusInfo.OgcStatusInfo, ClientError>
  readonly results: (jobId: string) => Effect.Effect<OgcProcess.Results, ClientError>
  /** Cancels a job that runs and removes it (DELETE `jobs/{id}`), for both dialects. */
  readonly dismiss: (jobId: string) => Effect.Effect<OgcStatusInfo.OgcStatusInfo, ClientError>
  readonly jobs: (query?: JobQuery) => Effect.Effect<OgcDocument.JobList, ClientError>
  /** Another page of a job list: the `href` of its `next` or `prev` link (refused when it is not under the root). */
  readonly jobsPage: (href: string) => Effect.Effect<OgcDocument.JobList, ClientError>
  readonly jobUrl: (jobId: string) => string
  /** The job id in a job's (or its results') OGC URL under this root. */
  readonly parseJobUrl: (url: string) => Effect.Effect<string, ClientError>
  /** The process id of a task of a service (`Folder/Name`, task): `Folder.Name.Task`. */
  readonly processId: (service: string, task: string) => Effect.Effect<string, ClientError>
}

/** The OGC root GeoJobs serves beside an ArcGIS base URL: its origin and `/ogcapi`. @category constructors */
export const defaultRoot = (base: string): string => {
  try {
    return `${new URL(base).origin}/ogcapi`
  } catch {
    return `${base.replace(/\/+$/, "")}/ogcapi`
  }
}

/** A name the grammar cannot hold (a process id, a job id), reported before any request. */
const grammarError = (
  e: { readonly message: string },
  problem: "noSuchProcess" | "noSuchJob" | "notFound",
  url?: string
) => new ClientError({ kind: "response", detail: e.message, details: [], url, problem })

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly bytes: Uint8Array
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const mediaTypeOf = (headers: Headers) => (headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
const isJsonType = (type: string) => /^application\/(?:json|[\w.+-]+\+json)$/.test(type)

/** An error answer: an OGC exception, an ArcGIS envelope, or only an HTTP status. */
const failure = (url: string, answer: Answer): ClientError => {
  const body = text(answer.bytes)
  let doc: unknown
  try {
    doc = JSON.parse(body)
  } catch {
    doc = undefined
  }
  const exception = OgcException.schema.safeParse(doc)
  if (exception.success) return fromOgcException(url, answer.status, exception.data)
  const rest = ErrorEnvelope.restSchema.safeParse(doc)
  if (rest.success) {
    const { code, message, details } = rest.data.error
    return new ClientError({
      kind: code === 498 || code === 499 ? "token" : "server",
      code,
      detail: message,
      details,
      url
    })
  }
  return new ClientError({
    kind: answer.status === 401 ? "token" : "server",
    code: answer.status,
    detail: `HTTP ${answer.status}`,
    details: body.trim() === "" ? [] : [body.slice(0, 200)],
    url,
    problem: problemOf("", answer.status)
  })
}

const readJson = <S extends z.ZodType>(url: string, answer: Answer, schema: S) => {
  let doc: unknown
  try {
    doc = JSON.parse(text(answer.bytes))
  } catch {
    return Effect.fail(
      new ClientError({
        kind: "response",
        code: answer.status,
        detail: `${url} did not answer JSON`,
        details: [text(answer.bytes).slice(0, 200)],
        url
      })
    )
  }
  return Transport.decode(url, doc, schema)
}

/** `<href>; rel="…"; type="…"` of an HTTP Link header (the first link). */
const readLink = (header: string | null): { href: string; type: string | undefined } | undefined => {
  const match = header === null ? null : /<([^>]*)>([^,]*)/.exec(header)
  if (match === null || match[1] === undefined) return undefined
  const type = /;\s*type="?([^";]+)"?/i.exec(match[2] ?? "")?.[1]
  return { href: match[1], type }
}

const list = (v: string | ReadonlyArray<string> | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === "string" ? v : v.length === 0 ? undefined : v.join(",")

const withQuery = (href: string, params: Readonly<Record<string, string | number | undefined>>) => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
  const s = q.toString()
  return s === "" ? href : `${href}?${s}`
}

/**
 * Makes the OGC operations over a session, under the OGC root `root` (`https://host/ogcapi`).
 *
 * @category constructors
 */
export const make = (session: Session, root: string): Ogc => {
  const base = root.replace(/\/+$/, "")
  const at = (resource: OgcResource.OgcResource) => OgcResource.url(base, resource)

  const send = (
    method: "GET" | "POST" | "DELETE",
    url: string,
    options: {
      readonly body?: unknown
      readonly prefer?: string | undefined
      readonly accept?: string | undefined
    } = {}
  ): Effect.Effect<Answer, ClientError> =>
    session.authorized((token) =>
      Effect.flatMap(
        Effect.tryPromise({
          try: async (signal) => {
            const headers: Record<string, string> = {}
            if (options.accept !== undefined) headers.accept = options.accept
            if (token !== undefined) headers.authorization = `Bearer ${token}`
            if (session.referer !== undefined) headers.referer = session.referer
            if (options.prefer !== undefined) headers.prefer = options.prefer
            if (options.body !== undefined) headers["content-type"] = "application/json"
            const response = await session.fetch(url, {
              method,
              headers,
              signal,
              ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
            })
            return {
              status: response.status,
              headers: response.headers,
              bytes: new Uint8Array(await response.arrayBuffer())
            }
          },
          catch: (cause) =>
            new ClientError({ kind: "network", detail: `Cannot reach ${url}`, details: [Transport.reason(cause)], url })
        }),
        (answer): Effect.Effect<Answer, ClientError> =>
          answer.status >= 400 ? Effect.fail(failure(url, answer)) : Effect.succeed(answer)
      )
    )

  const getJson = <S extends z.ZodType>(url: string, schema: S) =>
    Effect.flatMap(send("GET", url, { accept: "application/json" }), (answer) => readJson(url, answer, schema))

  const process = (processId: string) =>
    OgcResource.parseProcessId(processId).pipe(Effect.mapError((e) => grammarError(e, "noSuchProcess")))
  const jobIdOf = (jobId: string) =>
    JobId.isJobId(jobId)
      ? Effect.succeed(jobId)
      : Effect.fail(grammarError({ message: `${jobId} is not a job id (j and 32 hex digits)` }, "noSuchJob"))

  const jobUrl = (jobId: string) => at({ _tag: "Job", jobId })
  const job = (jobId: string) => Effect.flatMap(jobIdOf(jobId), (id) => getJson(jobUrl(id), OgcStatusInfo.schema))

  const parseJobUrl = (url: string) =>
    OgcResource.parseUrl(base, url, { spelling: "lenient" }).pipe(
      Effect.mapError((e) =>
        grammarError(
          e,
          e._tag === "NoSuchResource" ? "notFound" : e._tag === "NoSuchJob" ? "noSuchJob" : "noSuchProcess",
          url
        )
      ),
      Effect.flatMap((resource) =>
        OgcResource.isJobResource(resource)
          ? Effect.succeed(resource.jobId)
          : Effect.fail(grammarError({ message: `${url} is not a job's URL` }, "notFound", url))
      )
    )

  const execute = (processId: string, options: ExecuteOptions = {}) =>
    Effect.gen(function* () {
      const ref = yield* process(processId)
      const url = at({ _tag: "Execution", process: ref })
      const body: OgcProcess.Execute = {
        inputs: { ...options.inputs },
        ...(options.outputs === undefined ? {} : { outputs: { ...options.outputs } }),
        ...(options.response === undefined ? {} : { response: options.response }),
        ...(options.subscriber === undefined ? {} : { subscriber: options.subscriber })
      }
      const answer = yield* send("POST", url, {
        body,
        prefer: options.async === true ? "respond-async" : undefined
      })
      const type = mediaTypeOf(answer.headers)
      const location = answer.headers.get("location")
      if (answer.status === 201) {
        const status = yield* readJson(url, answer, OgcStatusInfo.schema)
        const href = location === null ? jobUrl(status.jobID) : new URL(location, url).href
        const jobId = yield* parseJobUrl(href).pipe(Effect.orElseSucceed(() => status.jobID))
        return { _tag: "Job", jobId, location: href, status } satisfies Execution
      }
      if (answer.status === 204) {
        const link = readLink(answer.headers.get("link"))
        if (link === undefined) {
          return yield* new ClientError({
            kind: "response",
            code: 204,
            detail: `${url} answered no content and no Link to the result`,
            details: [],
            url
          })
        }
        return { _tag: "Reference", href: new URL(link.href, url).href, mediaType: link.type } satisfies Execution
      }
      if (options.response === "document" && isJsonType(type)) {
        return { _tag: "Document", results: yield* readJson(url, answer, OgcProcess.resultsSchema) } satisfies Execution
      }
      const value = isJsonType(type)
        ? yield* readJson(url, answer, z.unknown())
        : type.startsWith("text/")
          ? text(answer.bytes)
          : undefined
      return { _tag: "Raw", mediaType: type, bytes: answer.bytes, value } satisfies Execution
    })

  return {
    url: base,
    landing: getJson(at({ _tag: "Landing" }), OgcDocument.landingSchema),
    conformance: getJson(at({ _tag: "Conformance" }), OgcDocument.conformanceSchema),
    processes: (paging = {}) =>
      getJson(
        withQuery(at({ _tag: "Processes" }), { limit: paging.limit, offset: paging.offset }),
        OgcProcess.listSchema
      ),
    process: (processId) =>
      Effect.flatMap(process(processId), (ref) =>
        getJson(at({ _tag: "Process", process: ref }), OgcProcess.descriptionSchema)
      ),
    execute,
    job,
    waitForJob: (jobId, options = {}) =>
      Effect.flatMap(jobIdOf(jobId), (id) =>
        Wait.until(job(id), {
          done: (s) => final[s.status],
          pending: options.onProgress,
          limits: options,
          jobId: id,
          url: jobUrl(id),
          otherwise: "dismiss it"
        })
      ),
    results: (jobId) =>
      Effect.flatMap(jobIdOf(jobId), (id) => getJson(at({ _tag: "Results", jobId: id }), OgcProcess.resultsSchema)),
    dismiss: (jobId) =>
      Effect.flatMap(jobIdOf(jobId), (id) =>
        Effect.flatMap(send("DELETE", jobUrl(id), { accept: "application/json" }), (answer) =>
          readJson(jobUrl(id), answer, OgcStatusInfo.schema)
        )
      ),
    jobs: (query = {}) =>
      getJson(
        withQuery(at({ _tag: "Jobs" }), {
          type: query.type,
          processID: list(query.processID),
          status: list(query.status),
          datetime: query.datetime,
          minDuration: query.minDuration,
          maxDuration: query.maxDuration,
          limit: query.limit,
          offset: query.offset
        }),
        OgcDocument.jobListSchema
      ),
    jobsPage: (href) =>
      OgcResource.parseUrl(base, href, { spelling: "lenient" }).pipe(
        Effect.mapError((e) => grammarError(e, "notFound", href)),
        Effect.flatMap((resource) =>
          resource._tag === "Jobs"
            ? getJson(href, OgcDocument.jobListSchema)
            : Effect.fail(
                grammarError({ message: `${href} is not a page of the job list under ${base}` }, "notFound", href)
              )
        )
      ),
    jobUrl,
    parseJobUrl,
    processId: (service, task) =>
      ServiceRef.parsePath(service).pipe(
        Effect.mapError((e) => new ClientError({ kind: "response", detail: e.message, details: [] })),
        Effect.map((path) => OgcResource.processId({ service: path, task }))
      )
  }
}
