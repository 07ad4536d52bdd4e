/**
 * OGC API – Processes 1.0 on the same jobs as the ArcGIS dialect, under the OGC root (`/ogcapi/` by default): the
 * landing page, conformance, the API definition (OpenAPI 3.0 and a readable page), the processes (every task of every
 * service, see `OgcProcesses`), execute (synchronous or asynchronous as the service's execution type says, `raw` or
 * `document` responses, output selection and transmission modes), job status (statusInfo), results, dismiss and the
 * job list with the 1.0 filters. Paths are read by core's `OgcResource` grammar and dispatched by one table, total
 * over its kinds, of the methods each answers; every error is an OGC exception with its real HTTP status
 * (`OgcFailure`). Tokens, per-service access and job ownership are exactly the ArcGIS routes' (`Security`): a job
 * submitted here is an ordinary GeoJobs job, shown by the REST and admin APIs, and theirs are shown here.
 *
 * Every resource answers JSON or HTML: `f=json|html`, else the `Accept` header (`*∕*`, or nothing, gets JSON).
 *
 * @module
 */
import { createReadStream } from "node:fs"
import {
  ArcGISResource,
  Callback,
  type Job,
  JobError,
  JobFiles,
  JobStatus,
  JobStore,
  JobUrls,
  OgcDocument,
  OgcException,
  OgcLink,
  OgcProcess,
  OgcResource,
  OgcStatusInfo,
  ServiceRef
} from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { Tool } from "@geojobs/tools"
import { Cause, Clock, Effect, Exit, Result } from "effect"
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import { InvalidInput, NoResultsYet, ToolFailed } from "./Failure.ts"
import { authorize, type Call, call, type Settings as HandlerSettings, principal, type Services } from "./Handler.ts"
import * as Html from "./Html.ts"
import * as OgcFailure from "./OgcFailure.ts"
import { JobNotSuccessful, MethodNotSupported, type OgcError, UnsupportedMediaType } from "./OgcFailure.ts"
import * as OgcProcesses from "./OgcProcesses.ts"
import * as OpenApi from "./OpenApi.ts"
import * as ResultFiles from "./ResultFiles.ts"
import * as Security from "./Security.ts"
import { ServiceControl } from "./ServiceControl.ts"

/**
 * The OGC settings, beside the server's.
 *
 * @category models
 */
export interface Settings {
  /** Where the OGC landing page is (default {@link defaultPath}). */
  readonly ogcPath?: string | undefined
}

/** @category models */
export const defaultPath = "/ogcapi"

/**
 * The OGC root path from the settings: leading slash, no trailing one.
 *
 * @category constructors
 */
export const rootPath = (settings: Settings): string => {
  const trimmed = (settings.ogcPath ?? defaultPath).replace(/\/+$/, "")
  const path = trimmed.startsWith("/") ? trimmed : `/${trimmed}`
  return path === "/" || path === "" ? defaultPath : path
}

/** The representations every resource has. @category models */
export type Format = "json" | "html"

/**
 * A request as the OGC routes see it: the ArcGIS call (for the principal, the settings and REST links), the OGC root
 * URL, the negotiated format and the query string as Fastify parsed it (repeated names as lists).
 *
 * @category models
 */
export interface OgcCall {
  readonly c: Call
  readonly root: string
  readonly format: Format
  readonly query: Readonly<Record<string, unknown>>
  /** Who is calling, read once from the request's token before any route runs (a bad token answers 401 anywhere). */
  readonly who: Security.Principal | null
}

/**
 * What an OGC route answers.
 *
 * @category models
 */
export interface OgcAnswer {
  readonly title: string
  readonly json?: unknown
  /** The media type of `json` (default `application/json`). */
  readonly jsonType?: string | undefined
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Links shown on the HTML page. */
  readonly links?: ReadonlyArray<{ readonly href: string; readonly text: string }> | undefined
  readonly extra?: string | undefined
  /** A page of its own instead of the generic one. */
  readonly html?: ((signedIn: string | undefined) => string) | undefined
  /** A body as it is (a raw result): its media type and text. */
  readonly raw?: { readonly type: string; readonly body: string } | undefined
  /** A file to stream (a raw file result). */
  readonly file?: string | undefined
  /** The media type of `file` (default `application/octet-stream`). */
  readonly fileType?: string | undefined
  /** No body (204). */
  readonly empty?: boolean | undefined
}

type Tag = OgcResource.OgcResource["_tag"]
type Method = "GET" | "POST" | "DELETE"

/** A route: one method of one kind of location. @category models */
export type Route<K extends Tag> = (
  o: OgcCall,
  resource: Extract<OgcResource.OgcResource, { readonly _tag: K }>
) => Effect.Effect<OgcAnswer, OgcError, Services>

// ---------------------------------------------------------------------------------------------------------------
// negotiation

const jsonLike = /^application\/(?:json|[\w.+-]+\+json)$/
const htmlLike = /^(?:text\/html|application\/xhtml\+xml)$/

/**
 * The format a request asks for: `f=json|html` first, then the best of `Accept` (JSON on a tie, for `*∕*`, and when
 * nothing is said); `undefined` for an `f` that is neither.
 *
 * @category constructors
 */
export const negotiate = (f: string | undefined, accept: string | undefined): Format | undefined => {
  const asked = (f ?? "").trim().toLowerCase()
  if (asked === "json" || asked === "html") return asked
  if (asked !== "") return undefined
  let json = -1
  let html = -1
  for (const item of (accept ?? "").split(",")) {
    const [type = "", ...params] = item.trim().toLowerCase().split(";")
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
    const q = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!Number.isFinite(q)) continue
    const t = type.trim()
    if (jsonLike.test(t) || t === "*/*" || t === "application/*") json = Math.max(json, q)
    else if (htmlLike.test(t) || t === "text/*") html = Math.max(html, q)
  }
  return html > json && html > 0 ? "html" : "json"
}

const first = (v: unknown): string | undefined =>
  Array.isArray(v) ? (v.length === 0 ? undefined : String(v.at(-1))) : v === undefined ? undefined : String(v)

const words = (v: unknown): ReadonlyArray<string> =>
  (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "")

/**
 * The OGC root URL of a request: the configured public URL's origin (without the ArcGIS context path) or the
 * request's, with the OGC path.
 *
 * @category constructors
 */
export const rootUrl = (request: FastifyRequest, settings: HandlerSettings, path: string): string => {
  if (settings.baseUrl) {
    const base = settings.baseUrl.replace(/\/+$/, "")
    const origin =
      settings.contextPath !== "" && base.endsWith(settings.contextPath)
        ? base.slice(0, base.length - settings.contextPath.length)
        : base
    return `${origin}${path}`
  }
  return `${request.protocol}://${request.host}${path}`
}

// ---------------------------------------------------------------------------------------------------------------
// shared lookups

const url = (o: OgcCall, resource: OgcResource.OgcResource) => OgcResource.url(o.root, resource)
const landingUrl = (o: OgcCall) => url(o, { _tag: "Landing" })
const withQuery = (href: string, params: Readonly<Record<string, string>>) => {
  const q = new URLSearchParams(params).toString()
  return q === "" ? href : `${href}?${q}`
}
const htmlAlternate = (href: string, title: string) =>
  OgcLink.make(withQuery(href, { f: "html" }), OgcLink.rels.alternate, OgcLink.mediaTypes.html, title)

/** The published process a reference names, usable by the caller (401/403 otherwise), or no such process. */
const usableProcess = Effect.fnUntraced(function* (o: OgcCall, ref: OgcResource.ProcessRef) {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(ref.service)
  const task = service?.tasks.get(ref.task)
  if (service === undefined || task === undefined) {
    return yield* new OgcException.NoSuchProcess({ processId: OgcResource.processId(ref) })
  }
  const p = o.who
  yield* authorize(p, Security.canUseService(p, service.access), `You may not use ${ServiceRef.path(service.ref)}.`)
  return { published: { service, task } satisfies OgcProcesses.Published, p }
})

/**
 * The job an id names, as the caller may see it: a job being deleted, one of a service the caller may not use, and
 * another user's job the caller may not read (Security's ownership rules) all answer exactly as an unknown id does.
 */
const visibleJob = Effect.fnUntraced(function* (o: OgcCall, id: string) {
  const p = o.who
  const store = yield* JobStore.JobStore
  const job = yield* store.getSummary(id)
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(job.service)
  const visible =
    JobStatus.pollerView(job.status) !== null &&
    (service === undefined || Security.canUseService(p, service.access)) &&
    Security.canReadJob(p, job.user)
  // The job model's own error: a hidden job and an unknown one answer byte for byte alike.
  if (!visible) return yield* new JobError.NoSuchJob({ jobId: id })
  return { job, p }
})

const processIdOf = (job: Pick<Job.Job, "service" | "task">) =>
  OgcResource.processId({ service: job.service, task: job.task })

/**
 * A job's statusInfo, with an HTML alternate and the same job in the ArcGIS REST API.
 *
 * @category constructors
 */
export const statusInfo = (
  o: OgcCall,
  job: Pick<Job.Job, "id" | "service" | "task" | "status" | "messages" | "progress" | "created" | "started" | "ended">
): OgcStatusInfo.OgcStatusInfo => {
  const jobUrl = url(o, { _tag: "Job", jobId: job.id })
  const doc = OgcStatusInfo.fromJob(job, { jobUrl, processId: processIdOf(job) })
  return {
    ...doc,
    links: [
      ...(doc.links ?? []),
      htmlAlternate(jobUrl, "Job status as HTML"),
      OgcLink.make(
        withQuery(JobUrls.restJob(o.c.base, job.service, job.task, job.id), { f: "json" }),
        "related",
        OgcLink.mediaTypes.json,
        "The same job in the ArcGIS REST API"
      ),
      OgcLink.make(
        OgcResource.url(o.root, { _tag: "Process", process: { service: job.service, task: job.task } }),
        OgcLink.rels.up,
        OgcLink.mediaTypes.json,
        "The process"
      )
    ]
  }
}

// ---------------------------------------------------------------------------------------------------------------
// landing, conformance, api

const landing: Route<"Landing"> = (o) => {
  const self = landingUrl(o)
  const api = url(o, { _tag: "Api" })
  const doc: OgcDocument.Landing = {
    title: "GeoJobs – OGC API – Processes",
    description:
      "The geoprocessing tasks of this GeoJobs server as OGC API – Processes 1.0: the same jobs as its ArcGIS REST API.",
    links: [
      OgcLink.make(self, OgcLink.rels.self, OgcLink.mediaTypes.json, "This document"),
      htmlAlternate(self, "This document as HTML"),
      OgcLink.make(api, OgcLink.rels.serviceDesc, OgcLink.mediaTypes.openapi, "The API definition (OpenAPI 3.0)"),
      OgcLink.make(
        withQuery(api, { f: "html" }),
        OgcLink.rels.serviceDoc,
        OgcLink.mediaTypes.html,
        "The API documentation"
      ),
      OgcLink.make(url(o, { _tag: "Conformance" }), OgcLink.rels.conformance, OgcLink.mediaTypes.json, "Conformance"),
      OgcLink.make(url(o, { _tag: "Processes" }), OgcLink.rels.processes, OgcLink.mediaTypes.json, "Processes"),
      OgcLink.make(url(o, { _tag: "Jobs" }), OgcLink.rels.jobList, OgcLink.mediaTypes.json, "Jobs"),
      OgcLink.make(
        ArcGISResource.url(o.c.base, { _tag: "Catalog" }),
        "related",
        OgcLink.mediaTypes.html,
        "ArcGIS REST services directory"
      )
    ]
  }
  return Effect.succeed({
    title: "OGC API – Processes",
    json: doc,
    links: doc.links
      .filter((l) => l.rel !== OgcLink.rels.self && l.rel !== OgcLink.rels.alternate)
      .map((l) => ({
        href: l.type === OgcLink.mediaTypes.html ? l.href : withQuery(l.href, { f: "html" }),
        text: l.title ?? l.href
      }))
  })
}

const conformance: Route<"Conformance"> = () =>
  Effect.succeed({
    title: "Conformance",
    json: { conformsTo: [...OgcDocument.conformanceClasses] } satisfies OgcDocument.Conformance
  })

const api: Route<"Api"> = (o) => {
  const doc = OpenApi.document({ root: o.root, version: o.c.settings.fullVersion })
  return Effect.succeed({
    title: "API definition",
    json: doc,
    jsonType: OgcLink.mediaTypes.openapi,
    html: (signedIn: string | undefined) => OpenApi.page(doc, { home: landingUrl(o), account: o.c.account, signedIn })
  })
}

// ---------------------------------------------------------------------------------------------------------------
// processes

const intParam = (
  o: OgcCall,
  name: string,
  fallback: number,
  min: number,
  max: number
): Effect.Effect<number, InvalidInput> => {
  const raw = first(o.query[name])
  if (raw === undefined || raw.trim() === "") return Effect.succeed(fallback)
  const n = Number(raw)
  return Number.isInteger(n) && n >= min && n <= max
    ? Effect.succeed(n)
    : Effect.fail(new InvalidInput({ parameter: name, detail: `${name} must be an integer from ${min} to ${max}.` }))
}

const paging = (o: OgcCall, href: string, offset: number, limit: number, more: boolean) => {
  const kept: Record<string, string> = {}
  for (const [k, v] of Object.entries(o.query)) {
    if (k !== "offset" && k !== "f" && v !== undefined) kept[k] = words(v).join(",")
  }
  const at = (n: number, f?: string) =>
    withQuery(href, { ...kept, ...(n === 0 ? {} : { offset: String(n) }), ...(f === undefined ? {} : { f }) })
  return [
    OgcLink.make(at(offset), OgcLink.rels.self, OgcLink.mediaTypes.json, "This document"),
    OgcLink.make(at(offset, "html"), OgcLink.rels.alternate, OgcLink.mediaTypes.html, "This document as HTML"),
    ...(more ? [OgcLink.make(at(offset + limit), OgcLink.rels.next, OgcLink.mediaTypes.json, "Next page")] : []),
    ...(offset > 0
      ? [OgcLink.make(at(Math.max(0, offset - limit)), OgcLink.rels.prev, OgcLink.mediaTypes.json, "Previous page")]
      : [])
  ]
}

const pageLinks = (links: ReadonlyArray<OgcLink.OgcLink>) =>
  links
    .filter((l) => l.rel === OgcLink.rels.next || l.rel === OgcLink.rels.prev)
    .map((l) => ({ href: `${l.href}${l.href.includes("?") ? "&" : "?"}f=html`, text: l.title ?? l.href }))

const processes: Route<"Processes"> = Effect.fnUntraced(function* (o) {
  const limit = yield* intParam(o, "limit", 1000, 1, 10_000)
  const offset = yield* intParam(o, "offset", 0, 0, Number.MAX_SAFE_INTEGER)
  const registry = yield* ServiceRegistry.ServiceRegistry
  const p = o.who
  const visible = OgcProcesses.all(registry).filter((x) => Security.canUseService(p, x.service.access))
  const page = visible.slice(offset, offset + limit)
  const doc: OgcProcess.List = {
    processes: page.map((x) => OgcProcesses.summary(o.root, x)),
    links: paging(o, url(o, { _tag: "Processes" }), offset, limit, visible.length > offset + limit)
  }
  return {
    title: "Processes",
    json: doc,
    links: [
      ...doc.processes.map((s) => ({
        href: withQuery(url(o, { _tag: "Process", process: refOfId(s.id) }), { f: "html" }),
        text: `${s.title ?? s.id} (${s.id})`
      })),
      ...pageLinks(doc.links)
    ]
  } satisfies OgcAnswer
})

// Only for links of ids this module wrote.
const refOfId = (id: string): OgcResource.ProcessRef => Effect.runSync(OgcResource.parseProcessId(id))

const processResource: Route<"Process"> = Effect.fnUntraced(function* (o, resource) {
  const { published } = yield* usableProcess(o, resource.process)
  const doc = OgcProcesses.describe(o.root, published)
  return {
    title: `Process ${doc.id}`,
    json: doc,
    links: [
      {
        href: JobUrls.restTask(o.c.base, published.service.ref, published.task.name),
        text: "The same task in the ArcGIS REST API"
      }
    ]
  } satisfies OgcAnswer
})

// ---------------------------------------------------------------------------------------------------------------
// execute

const objectFields = new Set(["inputs", "outputs", "subscriber"])

/** The execute request: JSON only; a big body's fields arrive as JSON text (parsed off the main thread). */
const readExecute = (
  request: FastifyRequest
): Effect.Effect<OgcProcess.Execute, InvalidInput | UnsupportedMediaType> => {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
  if (!jsonLike.test(type)) {
    return Effect.fail(new UnsupportedMediaType({ received: type, expected: "application/json" }))
  }
  const body = request.body
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return Effect.fail(new InvalidInput({ parameter: "body", detail: "The execute request must be a JSON object." }))
  }
  const fields: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (objectFields.has(k) && typeof v === "string") {
      try {
        fields[k] = JSON.parse(v)
      } catch {
        fields[k] = v
      }
    } else fields[k] = v
  }
  const parsed = OgcProcess.executeSchema.safeParse(fields)
  if (parsed.success) return Effect.succeed(parsed.data)
  const issue = parsed.error.issues[0]
  const where = issue === undefined || issue.path.length === 0 ? "the execute request" : issue.path.join(".")
  return Effect.fail(
    new InvalidInput({
      // A callback URI by its own name (`subscriber.successUri`): the subscriber is not an input.
      parameter: issue?.path[0] === "subscriber" ? issue.path.join(".") : String(issue?.path[0] ?? "body"),
      detail: `${where}: ${issue?.message ?? "invalid"}.`
    })
  )
}

/**
 * An input's value as the GP decoders take it. A value by reference (`{"href":…}`) is a file input's URL: it takes the
 * path of ArcGIS's `{"url":…}` (fetched before the run, behind the same address rules); other types take values only.
 */
const unwrap = (name: string, value: unknown, dataType: string | undefined): Effect.Effect<unknown, InvalidInput> => {
  if (OgcProcess.isLink(value)) {
    if (dataType === "GPDataFile") return Effect.succeed({ url: (value as { readonly href: string }).href })
    return Effect.fail(
      new InvalidInput({
        parameter: name,
        detail: `Input ${name}: values by reference (href) are taken for file inputs only; send the value.`
      })
    )
  }
  if (OgcProcess.isQualifiedValue(value)) return Effect.succeed(value.value)
  if (Array.isArray(value)) return Effect.forEach(value, (item) => unwrap(name, item, dataType))
  return Effect.succeed(value)
}

const execution: Route<"Execution"> = Effect.fnUntraced(function* (o, resource) {
  const { published, p } = yield* usableProcess(o, resource.process)
  const body = yield* readExecute(o.c.request)
  const tool = published.task.tool
  const inputNames = new Set((tool === undefined ? [] : Tool.inputs(tool)).map((x) => x.name))
  const outputNames = new Set((tool === undefined ? [] : Tool.outputs(tool)).map((x) => x.name))
  const id = OgcResource.processId(resource.process)
  const params: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(body.inputs ?? {})) {
    if (tool !== undefined && !inputNames.has(name)) {
      return yield* new InvalidInput({
        parameter: name,
        detail: `Process ${id} has no input ${name} (its inputs: ${[...inputNames].join(", ") || "none"}).`
      })
    }
    const dataType = tool === undefined ? undefined : Tool.inputs(tool).find((x) => x.name === name)?.dataType
    params[name] = yield* unwrap(name, value, dataType)
  }
  for (const name of Object.keys(body.outputs ?? {})) {
    if (tool !== undefined && !outputNames.has(name)) {
      return yield* new InvalidInput({
        parameter: name,
        detail: `Process ${id} has no output ${name} (its outputs: ${[...outputNames].join(", ") || "none"}).`
      })
    }
  }
  const prefer = first(o.c.request.headers.prefer) ?? ""
  const prefersAsync = /(?:^|[\s,;])respond-async(?:$|[\s,;])/i.test(prefer)
  // sync-only services answer synchronously, async-only ones asynchronously, whatever is preferred (1.0 §7.11.2).
  const asynchronous = published.service.executionType === "async"
  // A service an administrator stopped takes no new job (the ones it has run on).
  yield* (yield* ServiceControl).ensureStarted(published.service.ref)
  const engine = yield* Engine.Engine
  const submission = {
    service: published.service.ref,
    task: published.task.name,
    user: p?.username ?? null,
    params
  }
  if (asynchronous) {
    // Callbacks are for asynchronous execution (the standard's `callback` class); their bodies link to the job as
    // this request addressed the server. A synchronous answer is its own notification.
    const subscriber =
      body.subscriber === undefined
        ? undefined
        : Callback.make(body.subscriber, OgcResource.url(o.root, { _tag: "Jobs" }))
    const job = yield* engine.submit({ ...submission, subscriber })
    const location = url(o, { _tag: "Job", jobId: job.id })
    return {
      title: `Job ${job.id}`,
      status: 201,
      headers: { location, ...(prefersAsync ? { "preference-applied": "respond-async" } : {}) },
      json: statusInfo(o, job)
    } satisfies OgcAnswer
  }
  const job = yield* engine.execute(submission)
  if (!JobStatus.hasResults(job.status)) {
    return yield* new ToolFailed({
      task: published.task.name,
      status: job.status,
      messages: job.messages.map((m) => m.description)
    })
  }
  return yield* resultsAnswer(o, job, body.response ?? "raw", body.outputs)
})

const restResult = (o: OgcCall, job: Job.Job, name: string, geo: boolean) =>
  withQuery(
    ArcGISResource.url(o.c.base, ArcGISResource.jobOf(job.service, job.task, job.id, { kind: "results", param: name })),
    {
      f: geo ? "geojson" : "json"
    }
  )

/** The results of a successful job: a results document, or (`raw`, one output) the bare output. */
const resultsAnswer = Effect.fnUntraced(function* (
  o: OgcCall,
  job: Job.Job,
  response: "raw" | "document",
  selection: Readonly<Record<string, OgcProcess.Output>> | undefined
) {
  const names = Object.keys(job.results).filter((n) => selection === undefined || Object.hasOwn(selection, n))
  const fileUrl = (path: string) => ArcGISResource.url(o.c.base, ArcGISResource.outputFileOf(job.service, job.id, path))
  const outs = names.map((name) => {
    const value = job.results[name] as Job.JobValue
    const out = OgcProcesses.output(value, fileUrl)
    const byReference = selection?.[name]?.transmissionMode === "reference"
    const geo = out._tag === "value" && out.mediaType === OgcLink.mediaTypes.geojson
    const reference = byReference
      ? { href: restResult(o, job, name, geo), type: geo ? OgcLink.mediaTypes.geojson : OgcLink.mediaTypes.json }
      : undefined
    return { name, out, reference }
  })
  const only = outs[0]
  if (response === "raw" && outs.length === 1 && only !== undefined) {
    if (only.reference !== undefined) {
      return {
        title: "Result",
        empty: true,
        headers: { link: `<${only.reference.href}>; rel="enclosure"; type="${only.reference.type}"` }
      } satisfies OgcAnswer
    }
    if (only.out._tag === "file") {
      const files = yield* JobFiles.JobFiles
      // Typed by its extension, and a download (ResultFiles), as the REST API serves output files.
      return {
        title: "Result",
        file: yield* files.resolve(job.id, only.out.path),
        fileType: ResultFiles.mediaTypeOf(only.out.path),
        headers: { "content-disposition": ResultFiles.contentDisposition(only.out.path) }
      } satisfies OgcAnswer
    }
    const v = only.out.value
    return {
      title: "Result",
      raw:
        typeof v === "string"
          ? { type: "text/plain; charset=utf-8", body: v }
          : { type: `${only.out.mediaType}; charset=utf-8`, body: JSON.stringify(v) }
    } satisfies OgcAnswer
  }
  const doc: OgcProcess.Results = Object.fromEntries(
    outs.map((x) => [x.name, OgcProcesses.inDocument(x.out, x.reference)])
  )
  return { title: `Job ${job.id}: results`, json: doc } satisfies OgcAnswer
})

// ---------------------------------------------------------------------------------------------------------------
// jobs

const jobPage = (o: OgcCall, job: Job.JobSummary, doc: OgcStatusInfo.OgcStatusInfo) => (signedIn: string | undefined) =>
  Html.page({
    signedIn,
    title: `Job ${job.id}`,
    home: landingUrl(o),
    account: o.c.account,
    document: doc,
    extra: [
      Html.progressBar(doc.progress, doc.message),
      JobStatus.isTerminal(job.status) ? "" : `<meta http-equiv="refresh" content="2">`
    ].join(""),
    links: [
      ...(JobStatus.hasResults(job.status)
        ? [{ href: withQuery(url(o, { _tag: "Results", jobId: job.id }), { f: "html" }), text: "Results" }]
        : []),
      { href: JobUrls.restJob(o.c.base, job.service, job.task, job.id), text: "The same job in the ArcGIS REST API" }
    ]
  })

const jobResource: Route<"Job"> = Effect.fnUntraced(function* (o, resource) {
  const { job } = yield* visibleJob(o, resource.jobId)
  const doc = statusInfo(o, job)
  return { title: `Job ${job.id}`, json: doc, html: jobPage(o, job, doc) } satisfies OgcAnswer
})

/** Dismiss: cancels the job through the engine (the tool sees the abort) and removes it, for both dialects. */
const dismiss: Route<"Job"> = Effect.fnUntraced(function* (o, resource) {
  const { job, p } = yield* visibleJob(o, resource.jobId)
  yield* authorize(p, Security.canCancelJob(p, job.user), `You may not dismiss job ${job.id}.`)
  const engine = yield* Engine.Engine
  const now = yield* Clock.currentTimeMillis
  if (JobStatus.isCancellable(job.status)) {
    yield* engine.cancel(job.id).pipe(Effect.catchTag("InvalidTransition", () => Effect.void))
  }
  yield* engine.delete(job.id).pipe(Effect.catchTag("NoSuchJob", () => Effect.void))
  // What the job is now, as the status table words it: deleted, which OGC calls dismissed.
  const gone: Job.JobSummary = { ...job, status: "Deleted", ended: job.ended ?? now }
  return {
    title: `Job ${job.id} dismissed`,
    json: { ...statusInfo(o, gone), message: "The job was dismissed." }
  } satisfies OgcAnswer
})

const resultsResource: Route<"Results"> = Effect.fnUntraced(function* (o, resource) {
  const { job: summary } = yield* visibleJob(o, resource.jobId)
  if (!JobStatus.hasResults(summary.status)) {
    if (!JobStatus.isTerminal(summary.status)) {
      return yield* new NoResultsYet({ jobId: summary.id, status: JobStatus.ogcStatus(summary.status) })
    }
    return yield* new JobNotSuccessful({
      jobId: summary.id,
      status: JobStatus.ogcStatus(summary.status),
      messages: summary.messages.filter((m) => m.level === "error").map((m) => m.description)
    })
  }
  const job = yield* (yield* JobStore.JobStore).get(summary.id)
  return yield* resultsAnswer(o, job, "document", undefined)
})

const ogcStatuses = new Set<string>(JobStatus.ogcStatuses)
// Without a status filter, 1.0 lists running, successful, failed and dismissed jobs (accepted ones only when asked).
const defaultStatuses = JobStatus.ogcStatuses.filter((s) => s !== "accepted")

const instant = (text: string): number | undefined | null => {
  if (text === "" || text === "..") return undefined
  const ms = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN
  return Number.isFinite(ms) ? ms : null
}

/** `datetime`: an RFC 3339 instant, or an interval `a/b` with `..` (or nothing) for an open end. */
const readDatetime = (raw: string | undefined): Effect.Effect<{ from?: number; to?: number }, InvalidInput> => {
  if (raw === undefined || raw.trim() === "") return Effect.succeed({})
  const bad = new InvalidInput({
    parameter: "datetime",
    detail: "datetime must be an RFC 3339 date-time or an interval start/end (.. for an open end)."
  })
  const parts = raw.trim().split("/")
  if (parts.length > 2) return Effect.fail(bad)
  const [a = "", b] = parts
  const from = instant(a.trim())
  const to = b === undefined ? from : instant(b.trim())
  if (from === null || to === null || (b === undefined && from === undefined)) return Effect.fail(bad)
  return Effect.succeed({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) })
}

const seconds = (o: OgcCall, name: string): Effect.Effect<number | undefined, InvalidInput> => {
  const raw = first(o.query[name])
  if (raw === undefined || raw.trim() === "") return Effect.succeed(undefined)
  const n = Number(raw)
  return Number.isFinite(n) && n >= 0
    ? Effect.succeed(n)
    : Effect.fail(new InvalidInput({ parameter: name, detail: `${name} must be a number of seconds, 0 or more.` }))
}

const scanPage = 500

const jobs: Route<"Jobs"> = Effect.fnUntraced(function* (o) {
  const limit = yield* intParam(o, "limit", 10, 1, 10_000)
  const offset = yield* intParam(o, "offset", 0, 0, Number.MAX_SAFE_INTEGER)
  const types = words(o.query.type)
  const statusWords = words(o.query.status)
  const unknownStatus = statusWords.find((s) => !ogcStatuses.has(s))
  if (unknownStatus !== undefined) {
    return yield* new InvalidInput({
      parameter: "status",
      detail: `status ${unknownStatus} is not one of ${JobStatus.ogcStatuses.join(", ")}.`
    })
  }
  const processIds = new Set(words(o.query.processID))
  const { from, to } = yield* readDatetime(first(o.query.datetime))
  const minDuration = yield* seconds(o, "minDuration")
  const maxDuration = yield* seconds(o, "maxDuration")
  const p = o.who
  const registry = yield* ServiceRegistry.ServiceRegistry
  const now = yield* Clock.currentTimeMillis
  const wanted = new Set(statusWords.length === 0 ? defaultStatuses : statusWords)
  const statuses = JobStatus.where((r) => wanted.has(r.ogc) && r.pollerView !== null)
  const found: Array<Job.JobSummary> = []
  // Anonymous jobs are capabilities held by whoever has their id: listing them needs a right (Security), and an
  // anonymous caller owns none, so an anonymous list is empty.
  const listable = p !== null && (types.length === 0 || types.includes("process"))
  if (listable) {
    const store = yield* JobStore.JobStore
    const keep = (job: Job.JobSummary): boolean => {
      const service = registry.find(job.service)
      if (service !== undefined && !Security.canUseService(p, service.access)) return false
      if (!Security.canSeeInAdmin(p, job.user)) return false
      if (processIds.size > 0 && !processIds.has(processIdOf(job))) return false
      if (minDuration !== undefined || maxDuration !== undefined) {
        if (job.started === null) return false
        const duration = ((job.ended ?? now) - job.started) / 1000
        if (minDuration !== undefined && duration < minDuration) return false
        if (maxDuration !== undefined && duration > maxDuration) return false
      }
      return true
    }
    let start = 1
    while (found.length <= offset + limit) {
      const page = yield* store.query({
        statuses,
        ...(Security.canViewAllJobs(p) ? {} : { user: p.username }),
        ...(from === undefined ? {} : { createdFrom: from }),
        ...(to === undefined ? {} : { createdTo: to }),
        order: "newest",
        number: scanPage,
        start
      })
      for (const job of page.results) if (keep(job)) found.push(job)
      if (page.nextStart === -1) break
      start = page.nextStart
    }
  }
  const shown = found.slice(offset, offset + limit)
  const doc: OgcDocument.JobList = {
    jobs: shown.map((job) => statusInfo(o, job)),
    links: paging(o, url(o, { _tag: "Jobs" }), offset, limit, found.length > offset + limit)
  }
  return {
    title: "Jobs",
    json: doc,
    links: [
      ...shown.map((job) => ({
        href: withQuery(url(o, { _tag: "Job", jobId: job.id }), { f: "html" }),
        text: `${job.id} · ${processIdOf(job)} · ${JobStatus.ogcStatus(job.status)}`
      })),
      ...pageLinks(doc.links)
    ]
  } satisfies OgcAnswer
})

// ---------------------------------------------------------------------------------------------------------------
// the table

/**
 * Every kind of OGC location and the methods it answers. Total over the kinds.
 *
 * @category models
 */
export const routes: { readonly [K in Tag]: Partial<Readonly<Record<Method, Route<K>>>> } = {
  Landing: { GET: landing },
  Conformance: { GET: conformance },
  Api: { GET: api },
  Processes: { GET: processes },
  Process: { GET: processResource },
  Execution: { POST: execution },
  Jobs: { GET: jobs },
  Job: { GET: jobResource, DELETE: dismiss },
  Results: { GET: resultsResource }
}

// ---------------------------------------------------------------------------------------------------------------
// replies

const apiHeaders = { "x-content-type-options": "nosniff", "cache-control": "no-store", vary: "Accept" } as const

const send = async (reply: FastifyReply, o: OgcCall, answer: OgcAnswer): Promise<FastifyReply> => {
  reply.headers(apiHeaders)
  for (const [k, v] of Object.entries(answer.headers ?? {})) reply.header(k, v)
  if (answer.status !== undefined) reply.status(answer.status)
  if (answer.empty === true) return reply.status(204).send()
  if (answer.file !== undefined) {
    return reply.type(answer.fileType ?? "application/octet-stream").send(createReadStream(answer.file))
  }
  if (answer.raw !== undefined) return reply.type(answer.raw.type).send(answer.raw.body)
  if (o.format === "html") {
    const who = o.who?.username
    const html =
      answer.html?.(who) ??
      Html.page({
        title: answer.title,
        home: landingUrl(o),
        account: o.c.account,
        document: answer.json,
        links: answer.links,
        extra: answer.extra,
        signedIn: who
      })
    await reply.helmet()
    return reply.type("text/html; charset=utf-8").send(html)
  }
  const type = answer.jsonType ?? OgcLink.mediaTypes.json
  // Set as it is: the OpenAPI type must read exactly `application/vnd.oai.openapi+json;version=3.0`.
  return reply
    .header("content-type", type === OgcLink.mediaTypes.json ? `${type}; charset=utf-8` : type)
    .send(type === OgcLink.mediaTypes.json ? JSON.stringify(answer.json) : Buffer.from(JSON.stringify(answer.json)))
}

/**
 * Writes an OGC exception with its real status: JSON, or an HTML page when HTML was asked for.
 *
 * @category constructors
 */
export const sendException = async (
  reply: FastifyReply,
  format: Format,
  exception: OgcException.OgcException,
  headers: Readonly<Record<string, string>> = {}
): Promise<FastifyReply> => {
  const status = exception.status ?? 500
  reply.status(status).headers(apiHeaders).headers(headers)
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="GeoJobs"')
  if (format === "html") {
    await reply.helmet()
    return reply
      .type("text/html; charset=utf-8")
      .send(Html.page({ title: `Error ${status}: ${exception.title ?? "error"}`, home: "./", document: exception }))
  }
  return reply.type("application/json; charset=utf-8").send(JSON.stringify(exception))
}

const methodOf = (method: string): Method | undefined =>
  method === "GET" || method === "HEAD" ? "GET" : method === "POST" || method === "DELETE" ? method : undefined

/**
 * Answers one request under the OGC root.
 *
 * @category constructors
 */
export const handle =
  (settings: HandlerSettings, path: string) =>
  async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const params = ArcGISRequest.params(request)
    const negotiated = negotiate(
      first((request.query as Record<string, unknown> | undefined)?.f),
      request.headers.accept
    )
    const format: Format = negotiated ?? "json"
    if (negotiated === undefined) {
      return sendException(
        reply,
        format,
        OgcFailure.fromError(new InvalidInput({ parameter: "f", detail: "f must be json or html." }))
      )
    }
    const parsed = Effect.runSync(Effect.result(OgcResource.parseRequest(path, request.url)))
    if (Result.isFailure(parsed)) return sendException(reply, format, OgcFailure.fromError(parsed.failure))
    const resource = parsed.success
    // Execute answers its results (or a job's status) in JSON, whatever a browser accepts.
    const shown: Format = resource._tag === "Execution" ? "json" : format
    const base = call(request, settings, shown)
    const o: Omit<OgcCall, "who"> = {
      c: { ...base, format: shown, params },
      root: rootUrl(request, settings, path),
      format: shown,
      query: (request.query ?? {}) as Record<string, unknown>
    }
    const row = routes[resource._tag] as Partial<Record<Method, Route<Tag>>>
    const method = methodOf(request.method)
    const route = method === undefined ? undefined : row[method]
    if (route === undefined) {
      const allowed = Object.keys(row).flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m]))
      return sendException(
        reply,
        shown,
        OgcFailure.fromError(new MethodNotSupported({ method: request.method, allowed })),
        { allow: allowed.join(", ") }
      )
    }
    const deep = ArcGISRequest.tooDeep(request, params)
    if (deep !== undefined) {
      return sendException(
        reply,
        shown,
        OgcFailure.fromError(
          new InvalidInput({
            parameter: deep,
            detail: `${deep}: JSON nested more than ${ArcGISRequest.maxJsonDepth} levels deep`
          })
        )
      )
    }
    const exit = await settings.runtime.runPromiseExit(
      Effect.flatMap(principal(o.c), (who) =>
        Effect.map(route({ ...o, who }, resource as never), (a) => [a, who] as const)
      )
    )
    if (Exit.isSuccess(exit)) return send(reply, { ...o, who: exit.value[1] }, exit.value[0])
    const error = Cause.findErrorOption(exit.cause)
    const exception =
      error._tag === "Some" && OgcFailure.isOgcError(error.value)
        ? OgcFailure.fromError(error.value)
        : OgcFailure.unexpected
    if (error._tag === "None") request.log.error({ cause: Cause.pretty(exit.cause) }, "request failed")
    else if ((exception.status ?? 500) >= 500) request.log.error({ err: error.value }, "request failed")
    return sendException(reply, shown, { ...exception, instance: request.url.replace(/[?#].*$/s, "") })
  }

/**
 * Registers the OGC routes under their root, in a Fastify scope of their own whose errors (a body too large, JSON
 * that does not parse, a media type without a parser) are OGC exceptions too.
 *
 * @category constructors
 */
export const register = (app: FastifyInstance, settings: HandlerSettings & Settings): void => {
  const path = rootPath(settings)
  const handler = handle(settings, path)
  void app.register(async (scope) => {
    scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
      const status = error.statusCode ?? 500
      if (status >= 500) request.log.error({ err: error }, "unhandled error")
      const format = negotiate(undefined, request.headers.accept) ?? "json"
      return sendException(reply, format, OgcFailure.fromStatus(status, error.message))
    })
    for (const url of [path, `${path}/`, `${path}/*`]) {
      scope.route({ method: ["GET", "POST", "DELETE", "PUT", "PATCH"], url, handler })
    }
  })
}
