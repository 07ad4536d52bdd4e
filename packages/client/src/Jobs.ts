/**
 * The client's GP REST operations over a `Session`: the services directory (catalog, folders, services, tasks),
 * submitJob and execute, the job document, following a job to its end (backing-off polls, progress and message
 * callbacks, an AbortSignal, a timeout), results (feature sets also as GeoJSON or in another spatial reference, or
 * downloaded as files: shapefile zip, CSV, KML, KMZ, GeoPackage), inputs, cancel, output-file downloads, file uploads
 * (`uploads/upload`, with byte progress), and job URLs both ways. Every URL comes from core's `ArcGISResource`.
 *
 * @module
 */
import { ArcGISResource, JobStatus, RestJob, ServiceDirectory, ServiceRef } from "@geojobs/core"
import { Effect } from "effect"
import { z } from "zod"
import { ClientError } from "./ClientError.ts"
import type { Session } from "./Session.ts"
import * as Transport from "./Transport.ts"
import * as Wait from "./Wait.ts"

/**
 * A job: its service (`Folder/Name`), task (absent for the service-level URL) and id.
 *
 * @category models
 */
export interface JobRef {
  readonly service: string
  readonly task?: string | undefined
  readonly jobId: string
}

/** Parameter values: strings, numbers and booleans as they are; anything else as JSON. @category models */
export type Params = Readonly<Record<string, unknown>>

/** Options of `waitForJob`. @category models */
export interface WaitOptions extends Wait.Limits {
  readonly onProgress?: ((doc: RestJob.RestJob) => void) | undefined
  readonly onMessage?: ((message: { readonly type: string; readonly description: string }) => void) | undefined
}

/** Options of `results`. @category models */
export interface ResultOptions {
  readonly geojson?: boolean | undefined
  readonly outSR?: string | undefined
}

/**
 * The files a feature-set result can be downloaded as (`…/results/<param>?f=…`); `geojson` is the FeatureCollection.
 *
 * @category models
 */
export type FileFormat = "shapefile" | "csv" | "kml" | "kmz" | "geopackage" | "geojson"

/** @category models */
export const fileFormats: ReadonlyArray<FileFormat> = ["shapefile", "csv", "kml", "kmz", "geopackage", "geojson"]

const byExtension: Readonly<Record<string, FileFormat>> = {
  ".zip": "shapefile",
  ".shp": "shapefile",
  ".csv": "csv",
  ".kml": "kml",
  ".kmz": "kmz",
  ".gpkg": "geopackage",
  ".geojson": "geojson",
  ".json": "geojson"
}

/**
 * The file format a file name asks for by its extension (`out.gpkg` → `geopackage`, `.zip` → `shapefile`, `.json`
 * and `.geojson` → `geojson`); `undefined` for any other.
 *
 * @category constructors
 */
export const fileFormatOf = (fileName: string): FileFormat | undefined => {
  const extension = /\.[^./\\]+$/.exec(fileName)?.[0]?.toLowerCase()
  return extension !== undefined && Object.hasOwn(byExtension, extension) ? byExtension[extension] : undefined
}

/** Options of `resultFile`. @category models */
export interface ResultFileOptions {
  /** Write the file in this spatial reference (a wkid or spatial-reference JSON), where the format allows it. */
  readonly outSR?: string | undefined
  /** A result (the default) or an input of the job. */
  readonly kind?: "results" | "inputs" | undefined
}

/**
 * What a file upload sends: the bytes (a Blob, say `fs.openAsBlob(path)`, streamed as it is read, or bytes in
 * memory), the file's name (the server checks its extension and content), a description, and a callback told how many
 * of the body's bytes have been sent.
 *
 * @category models
 */
export interface UploadOptions {
  readonly fileName: string
  readonly description?: string | undefined
  /** Called as the body is sent (`sent` of `total` bytes, multipart framing included), last with `sent === total`. */
  readonly onProgress?: ((sent: number, total: number) => void) | undefined
}

/**
 * zod schema of an uploaded item (`item` of the `uploads/upload` answer; core's `Uploads.ItemDocument`).
 *
 * @category schemas
 */
export const uploadItemSchema = z.looseObject({
  itemID: z.string(),
  itemName: z.string(),
  description: z.string(),
  date: z.number(),
  committed: z.boolean()
})

/** An uploaded item. @category models */
export type UploadItem = z.output<typeof uploadItemSchema>

const uploadAnswerSchema = z.looseObject({ success: z.literal(true), item: uploadItemSchema })

/**
 * The REST operations.
 *
 * @category services
 */
export interface Jobs {
  readonly services: (folder?: string) => Effect.Effect<ServiceDirectory.Catalog, ClientError>
  readonly service: (service: string) => Effect.Effect<ServiceDirectory.Service, ClientError>
  readonly task: (service: string, task: string) => Effect.Effect<ServiceDirectory.Task, ClientError>
  readonly submitJob: (service: string, task: string, params: Params) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly execute: (service: string, task: string, params: Params) => Effect.Effect<RestJob.ExecuteAnswer, ClientError>
  readonly jobRef: (service: string, task: string | undefined, jobId: string) => JobRef
  readonly parseJobUrl: (url: string) => Effect.Effect<JobRef, ClientError>
  /** The job's REST URL (the service-level one when the task is not known). */
  readonly jobUrl: (ref: JobRef) => string
  /** The bytes behind an output file's URL (a GPDataFile result's `url`), fetched with the client's token. */
  readonly download: (url: string) => Effect.Effect<Uint8Array, ClientError>
  readonly job: (ref: JobRef) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly waitForJob: (ref: JobRef, options?: WaitOptions) => Effect.Effect<RestJob.RestJob, ClientError>
  readonly results: (ref: JobRef, param?: string, options?: ResultOptions) => Effect.Effect<unknown, ClientError>
  /**
   * A feature-set result (or a table, as CSV) as the bytes of a file, made by the server; a format the value cannot be
   * written in is the server's 400 naming `f`.
   */
  readonly resultFile: (
    ref: JobRef,
    param: string,
    format: FileFormat,
    options?: ResultFileOptions
  ) => Effect.Effect<Uint8Array, ClientError>
  readonly inputs: (ref: JobRef, param?: string) => Effect.Effect<unknown, ClientError>
  readonly cancel: (ref: JobRef) => Effect.Effect<RestJob.CancelAnswer, ClientError>
  /**
   * Uploads a file to the service's `uploads/upload` (services with the Uploads capability): the item, whose
   * `{"itemID": …}` a file-typed parameter takes.
   */
  readonly upload: (
    service: string,
    data: Blob | Uint8Array,
    options: UploadOptions
  ) => Effect.Effect<UploadItem, ClientError>
}

// A multipart body for fetch. Without a progress callback it is FormData (every fetch sends it). With one it is the same
// body framed by hand and streamed, so the bytes handed to fetch can be counted (fetch reports no upload progress).
const multipartBody = (
  fields: Readonly<Record<string, string>>,
  file: Blob,
  fileName: string,
  onProgress: ((sent: number, total: number) => void) | undefined
): { body: FormData | ReadableStream<Uint8Array>; headers: Record<string, string>; streamed: boolean } => {
  if (onProgress === undefined) {
    const form = new FormData()
    for (const [name, value] of Object.entries(fields)) form.append(name, value)
    form.append("file", file, fileName)
    return { body: form, headers: {}, streamed: false }
  }
  const boundary = `----geojobs${crypto.randomUUID().replaceAll("-", "")}`
  // A quote or line break in a name would end the header's parameter early: percent-encoded, as browsers do.
  const quoted = (text: string) => text.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c))
  const encoder = new TextEncoder()
  const head = encoder.encode(
    [
      ...Object.entries(fields).map(
        ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`
      ),
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(fileName)}"\r\n`,
      "Content-Type: application/octet-stream\r\n\r\n"
    ].join("")
  )
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`)
  const total = head.length + file.size + tail.length
  let sent = 0
  const reader = file.stream().getReader()
  let stage: "head" | "file" | "done" = "head"
  const body = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const push = (chunk: Uint8Array) => {
        sent += chunk.length
        controller.enqueue(chunk)
        onProgress(sent, total)
      }
      if (stage === "head") {
        stage = "file"
        onProgress(0, total)
        return push(head)
      }
      if (stage === "file") {
        const next = await reader.read()
        if (!next.done) return push(next.value)
        stage = "done"
        push(tail)
      }
      controller.close()
    },
    cancel: (reason) => reader.cancel(reason)
  })
  return {
    body,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(total) },
    streamed: true
  }
}

/**
 * A `Folder/Name` service as the grammar needs it; a name that cannot be one is the caller's mistake, reported
 * before any request.
 *
 * @category constructors
 */
export const servicePath = (service: string): Effect.Effect<ServiceRef.ServicePath, ClientError> =>
  ServiceRef.parsePath(service).pipe(
    Effect.mapError((e) => new ClientError({ kind: "response", detail: e.message, details: [] }))
  )

// jobUrl is synchronous: a service string that is no valid path is put in the URL as the caller wrote it.
const servicePathSync = (service: string): ServiceRef.ServicePath =>
  Effect.runSync(
    ServiceRef.parsePath(service).pipe(
      Effect.orElseSucceed(() => {
        const at = service.indexOf("/")
        return at < 0 ? { name: service } : { folder: service.slice(0, at), name: service.slice(at + 1) }
      })
    )
  )

const refOf = (resource: ArcGISResource.ArcGISResource): JobRef | undefined =>
  resource._tag === "Job"
    ? { service: ServiceRef.path(resource.service), task: resource.task, jobId: resource.jobId }
    : resource._tag === "AdminJob"
      ? { service: ServiceRef.path(resource.service), task: undefined, jobId: resource.jobId }
      : undefined

/**
 * Makes the REST operations over a session.
 *
 * @category constructors
 */
export const make = (session: Session): Jobs => {
  const base = session.base
  const onService = <A>(
    service: string,
    f: (path: ServiceRef.ServicePath) => Effect.Effect<A, ClientError>
  ): Effect.Effect<A, ClientError> => Effect.flatMap(servicePath(service), f)
  const jobResource = (ref: JobRef, part?: ArcGISResource.JobPart) =>
    ArcGISResource.jobOf(servicePathSync(ref.service), ref.task, ref.jobId, part)
  const jobUrl = (ref: JobRef) => ArcGISResource.url(base, jobResource(ref))
  const atJob = <S extends z.ZodType>(
    ref: JobRef,
    part: ArcGISResource.JobPart,
    fields: Readonly<Record<string, string>>,
    schema: S
  ) => onService(ref.service, () => session.request(jobResource(ref, part), fields, schema))

  const job = (ref: JobRef) => atJob(ref, { kind: "job" }, {}, RestJob.schema)

  const waitForJob = (ref: JobRef, wait: WaitOptions = {}): Effect.Effect<RestJob.RestJob, ClientError> =>
    Effect.suspend(() => {
      let seen = 0
      const check = Effect.tap(job(ref), (doc) =>
        Effect.sync(() => {
          const messages = doc.messages ?? []
          for (const m of messages.slice(seen)) wait.onMessage?.(m)
          seen = Math.max(seen, messages.length)
        })
      )
      return Wait.until(check, {
        done: (doc) => {
          const status = JobStatus.parse(doc.jobStatus)
          return status !== undefined && JobStatus.isTerminal(status)
        },
        pending: wait.onProgress,
        limits: wait,
        jobId: ref.jobId,
        url: jobUrl(ref),
        otherwise: "cancel it"
      })
    })

  return {
    services: (folder) =>
      session.request(
        folder === undefined ? { _tag: "Catalog" } : { _tag: "Folder", folder },
        {},
        ServiceDirectory.catalogSchema
      ),
    service: (service) =>
      onService(service, (s) => session.request({ _tag: "Service", service: s }, {}, ServiceDirectory.serviceSchema)),
    task: (service, task) =>
      onService(service, (s) => session.request({ _tag: "Task", service: s, task }, {}, ServiceDirectory.taskSchema)),
    submitJob: (service, task, params) =>
      onService(service, (s) =>
        session.request({ _tag: "SubmitJob", service: s, task }, Transport.form(params), RestJob.schema)
      ),
    execute: (service, task, params) =>
      onService(service, (s) =>
        session.request({ _tag: "Execute", service: s, task }, Transport.form(params), RestJob.executeSchema)
      ),
    jobRef: (service, task, jobId) => ({ service, task, jobId }),
    parseJobUrl: (url) =>
      ArcGISResource.parseUrl(base, url, { spelling: "lenient" }).pipe(
        Effect.mapError((e) => new ClientError({ kind: "response", detail: e.message, details: [], url })),
        Effect.flatMap((resource) => {
          const ref = refOf(resource)
          return ref === undefined
            ? Effect.fail(new ClientError({ kind: "response", detail: `${url} is not a job's URL`, details: [], url }))
            : Effect.succeed(ref)
        })
      ),
    jobUrl,
    download: session.download,
    job,
    waitForJob,
    results: (ref, param, opts = {}) => {
      const fields: Record<string, string> = {
        ...(opts.geojson === true ? { f: "geojson" } : {}),
        ...(opts.outSR === undefined ? {} : { outSR: opts.outSR })
      }
      const part: ArcGISResource.JobPart = { kind: "results", param }
      return param === undefined
        ? atJob(ref, { kind: "results" }, fields, z.array(RestJob.parameterValueSchema))
        : opts.geojson === true
          ? atJob(ref, part, fields, z.looseObject({ type: z.literal("FeatureCollection") }))
          : atJob(ref, part, fields, RestJob.parameterValueSchema)
    },
    resultFile: (ref, param, format, opts = {}) => {
      const fields = new URLSearchParams({ f: format, ...(opts.outSR === undefined ? {} : { outSR: opts.outSR }) })
      const url = ArcGISResource.url(base, jobResource(ref, { kind: opts.kind ?? "results", param }))
      return Effect.suspend(() => session.download(`${url}?${fields}`))
    },
    inputs: (ref, param) =>
      param === undefined
        ? atJob(ref, { kind: "inputs" }, {}, z.array(RestJob.parameterValueSchema))
        : atJob(ref, { kind: "inputs", param }, {}, RestJob.parameterValueSchema),
    cancel: (ref) => atJob(ref, { kind: "cancel" }, { returnMessages: "false" }, RestJob.cancelSchema),
    upload: (service, data, opts) =>
      onService(service, (s) => {
        const url = ArcGISResource.url(base, ArcGISResource.uploadsOf(s, { kind: "upload" }))
        const file = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>])
        const send = (token: string | undefined) =>
          Effect.flatMap(
            Effect.tryPromise({
              try: async (signal) => {
                // The token last, as ArcGIS's clients send it; a body is used once, so each attempt makes its own.
                const fields = {
                  f: "json",
                  description: opts.description ?? "",
                  ...(token === undefined ? {} : { token })
                }
                const made = multipartBody(fields, file, opts.fileName, opts.onProgress)
                const headers: Record<string, string> = { ...made.headers }
                if (session.referer !== undefined) headers.referer = session.referer
                const init: RequestInit & { duplex?: "half" } = { method: "POST", body: made.body, headers, signal }
                if (made.streamed) init.duplex = "half"
                const response = await session.fetch(url, init)
                return { status: response.status, text: await response.text() }
              },
              catch: (cause) =>
                new ClientError({
                  kind: "network",
                  detail: `Cannot upload ${opts.fileName} to ${url}`,
                  details: [Transport.reason(cause)],
                  url
                })
            }),
            (answer) => Transport.readAnswer(url, answer)
          )
        return session.authorized(send).pipe(
          Effect.flatMap((doc) => Transport.decode(url, doc, uploadAnswerSchema)),
          Effect.map((answer) => answer.item)
        )
      })
  }
}
