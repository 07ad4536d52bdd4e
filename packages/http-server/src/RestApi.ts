/**
 * The user-facing GP REST API under `<context>/rest`: server info, the services directory (catalog, folders, GPServer
 * and task resources), `submitJob` and `execute`, the job resource at task and service level, cancel, results and
 * inputs (all, or one parameter; feature results also as GeoJSON, in another spatial reference, or as files —
 * shapefile zip, CSV, KML, KMZ, GeoPackage — made off the main thread by `ResultFiles`), and the jobs' output files
 * under `rest/directories/arcgisjobs`, served with their type and as downloads. Routes translate requests and
 * documents only: every rule lives in core, tools or the engine.
 *
 * @module
 */
import {
  ArcGISResource,
  EncodedValue,
  Job,
  JobFiles,
  JobStatus,
  JobStore,
  JobUrls,
  RestJob,
  type ServiceDirectory,
  ServiceRef,
  Uploads
} from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { TaskDescription } from "@geojobs/tools"
import { Effect, Option } from "effect"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import {
  InvalidInput,
  MethodNotAllowed,
  NoResultsYet,
  NotFound,
  type RouteError,
  ToolFailed,
  WrongExecutionType
} from "./Failure.ts"
import { type Answer, authorize, type Call, principal, type Routes, type Services } from "./Handler.ts"
import * as Html from "./Html.ts"
import * as ResultFiles from "./ResultFiles.ts"
import * as Security from "./Security.ts"
import { ServiceControl } from "./ServiceControl.ts"

const maximumRecords = 1000

/** The service a location names, or NotFound (404); the admin routes use it too. */
export const serviceAt = Effect.fnUntraced(function* (path: ServiceRef.ServicePath) {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(path)
  if (service === undefined) return yield* new NotFound({ what: `Service ${ServiceRef.path(path)}` })
  return service
})

/** The task a location names, or NotFound (404). */
const taskAt = Effect.fnUntraced(function* (path: ServiceRef.ServicePath, name: string) {
  const service = yield* serviceAt(path)
  const task = service.tasks.get(name)
  if (task === undefined) return yield* new NotFound({ what: `Task ${name} of ${ServiceRef.path(service.ref)}` })
  return { service, task }
})

const mayUse = (p: Security.Principal | null, service: ServiceRegistry.ServiceDefinition) =>
  authorize(p, Security.canUseService(p, service.access), `You may not use ${ServiceRef.path(service.ref)}.`)

const serviceAccess = (c: Call, service: ServiceRegistry.ServiceDefinition) =>
  Effect.flatMap(principal(c), (p) => Effect.as(mayUse(p, service), p))

const visibleServices = Effect.fnUntraced(function* (c: Call) {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const p = yield* principal(c)
  return registry.services.filter((s) => Security.canUseService(p, s.access))
})

const catalog = Effect.fnUntraced(function* (
  c: Call,
  folder: string | undefined
): Effect.fn.Return<Answer, RouteError, Services> {
  const services = yield* visibleServices(c)
  const registry = yield* ServiceRegistry.ServiceRegistry
  if (folder !== undefined && !registry.services.some((s) => s.ref.folder === folder)) {
    return yield* new NotFound({ what: `Folder ${folder}` })
  }
  const here = services.filter((s) => s.ref.folder === folder)
  const doc: ServiceDirectory.Catalog = {
    currentVersion: c.settings.currentVersion,
    folders:
      folder === undefined
        ? [...new Set(services.flatMap((s) => (s.ref.folder === undefined ? [] : [s.ref.folder])))].sort()
        : [],
    services: here.map((s) => ({ name: ServiceRef.path(s.ref), type: "GPServer" }))
  }
  const title = folder === undefined ? "Home" : `Folder: ${folder}`
  return {
    json: doc,
    html: (signedIn) =>
      Html.page({
        signedIn,
        title,
        home: c.home,
        account: c.account,
        links: [
          ...doc.folders.map((f) => ({ href: `${c.home}/${encodeURIComponent(f)}`, text: `${f} (folder)` })),
          ...here.map((s) => ({
            href: JobUrls.restService(c.base, s.ref),
            text: `${ServiceRef.path(s.ref)} (GPServer)`
          }))
        ]
      })
  }
})

const serviceDoc = (c: Call, service: ServiceRegistry.ServiceDefinition): ServiceDirectory.Service => ({
  currentVersion: c.settings.currentVersion,
  serviceDescription: service.description,
  tasks: [...service.tasks.keys()],
  executionType: service.executionType === "sync" ? "esriExecutionTypeSynchronous" : "esriExecutionTypeAsynchronous",
  resultMapServerName: "",
  maximumRecords,
  // ArcGIS's Uploads capability (the service's `uploads` setting): `…/GPServer/uploads` takes files.
  capabilities: service.uploads === undefined ? "" : "Uploads"
})

const taskDoc = (service: ServiceRegistry.ServiceDefinition, task: ServiceRegistry.TaskDefinition) =>
  task.tool === undefined
    ? {
        name: task.name,
        displayName: task.name,
        description: "",
        category: "",
        helpUrl: "",
        executionType:
          service.executionType === "sync" ? "esriExecutionTypeSynchronous" : "esriExecutionTypeAsynchronous",
        parameters: []
      }
    : TaskDescription.describeTask(task.tool, { name: task.name, executionType: service.executionType })

/**
 * The job a location names, as the caller may see it: jobs of another service (or task), jobs being deleted and other
 * users' jobs the caller may not read (Security's ownership rules) all answer exactly as an unknown id does.
 */
const findJob = Effect.fnUntraced(function* (
  p: Security.Principal | null,
  id: string,
  service: ServiceRegistry.ServiceDefinition,
  task: string | undefined
): Effect.fn.Return<Job.JobSummary, RouteError, JobStore.JobStore> {
  const store = yield* JobStore.JobStore
  // A summary: a poll reads no parameter values (they can be megabytes; issue 10).
  const job = yield* store
    .getSummary(id)
    .pipe(Effect.catchTag("NoSuchJob", () => Effect.fail(new NotFound({ what: `Job ${id}` }))))
  const belongs =
    ServiceRef.equals(job.service, service.ref) &&
    (task === undefined || job.task === task) &&
    JobStatus.pollerView(job.status) !== null &&
    Security.canReadJob(p, job.user)
  if (!belongs) return yield* new NotFound({ what: `Job ${id}` })
  return job
})

const jobPage = (c: Call, job: Job.JobSummary, doc: RestJob.RestJob) => (signedIn: string | undefined) => {
  const url = JobUrls.restJob(c.base, job.service, job.task, job.id)
  const progress = job.progress
  return Html.page({
    signedIn,
    title: `Job ${job.id}`,
    home: c.home,
    account: c.account,
    document: {
      status: doc.jobStatus,
      task: job.task,
      submitted: new Date(job.created).toISOString(),
      messages: (doc.messages ?? []).map((m) => `${m.type.replace("esriJobMessageType", "")}: ${m.description}`)
    },
    extra: [
      Html.progressBar(progress?.type === "step" ? progress.percent : undefined, progress?.message),
      JobStatus.isTerminal(job.status) ? "" : `<meta http-equiv="refresh" content="2">`,
      JobStatus.isCancellable(job.status)
        ? `<form method="post" action="${Html.escapeHtml(url)}/cancel"><input type="hidden" name="f" value="html"><button>Cancel job</button></form>`
        : ""
    ].join(""),
    links: [
      ...Object.keys(doc.results ?? {}).map((p) => ({
        href: `${url}/results/${encodeURIComponent(p)}`,
        text: `Result: ${p}`
      })),
      ...Object.keys(doc.inputs ?? {}).map((p) => ({
        href: `${url}/inputs/${encodeURIComponent(p)}`,
        text: `Input: ${p}`
      }))
    ]
  })
}

/** A tool's output file (`{path}` in its job's folder) as the URL ArcGIS clients expect; `undefined` for other values. */
const fileUrlOf = (c: Call, job: Job.Job, value: Job.JobValue): Job.JobValue | undefined => {
  // The data type first: reading `value.value` decodes the value, which for a feature set can be megabytes.
  if (value.dataType !== "GPDataFile") return undefined
  const file = value.value as { path?: unknown } | null
  return typeof file?.path === "string"
    ? {
        dataType: value.dataType,
        value: { url: ArcGISResource.url(c.base, ArcGISResource.outputFileOf(job.service, job.id, file.path)) }
      }
    : undefined
}

/** `outSR` as the request gives it (a wkid or spatial-reference JSON), if any. */
const outSROf = (c: Call): string | undefined => {
  const outSR = c.params.outSR?.trim()
  return outSR === undefined || outSR === "" ? undefined : outSR
}

/**
 * Whether parameter documents are written in the worker thread: a feature set reshaped (GeoJSON, `outSR`), or a big
 * value, in a machine format (the HTML page shows the value as it is).
 */
const offThread = (c: Call, values: ReadonlyArray<Job.JobValue>): boolean =>
  c.format !== "html" &&
  values.some(
    (v) =>
      (v.dataType === "GPFeatureRecordSetLayer" && (c.format === "geojson" || outSROf(c) !== undefined)) ||
      ResultFiles.isBig(EncodedValue.encode(v))
  )

/**
 * A value as asked, on the main thread (small values that nothing reshapes): a tool's output file as its URL, any
 * other value as it is.
 */
const shaped = (c: Call, job: Job.Job, value: Job.JobValue): Job.JobValue => fileUrlOf(c, job, value) ?? value

/**
 * Parameter documents written in the worker thread: each value handed over as its text (or its file), output files
 * as their URLs.
 */
const documentsOffThread = (
  c: Call,
  job: Job.Job,
  values: ReadonlyArray<readonly [string, Job.JobValue]>,
  single: boolean
): Effect.Effect<Answer["jsonBytes"], InvalidInput> =>
  Effect.map(
    ResultFiles.convert(c.settings.resultFiles, {
      kind: "json",
      values: values.map(([name, v]) => ({ name, value: EncodedValue.encode(fileUrlOf(c, job, v) ?? v) })),
      single,
      geojson: c.format === "geojson",
      outSR: outSROf(c),
      pretty: c.format === "pjson"
    }),
    (done) => done.bytes
  )

/**
 * A feature set (or record set) as a file (`f=shapefile|csv|kml|kmz|geopackage`), made in the worker thread and
 * downloaded as `<param>.<ext>`. A format the value's type cannot be written in is a 400 naming `f`.
 */
const fileAnswer = (
  c: Call,
  param: string,
  value: Job.JobValue,
  format: ArcGISRequest.FileFormat
): Effect.Effect<Answer, InvalidInput> => {
  const allowed = ResultFiles.formatsOf[value.dataType] ?? []
  if (!allowed.includes(format)) {
    return Effect.fail(
      new InvalidInput({
        parameter: "f",
        detail:
          allowed.length === 0
            ? `f=${c.params.f ?? ""}: ${param} is a ${value.dataType}, which is not written as a file (f=json, pjson or html)`
            : `f=${c.params.f ?? ""}: a ${value.dataType} such as ${param} is written as ${allowed.join(", ")}`
      })
    )
  }
  return Effect.map(
    ResultFiles.convert(c.settings.resultFiles, {
      kind: "file",
      value: EncodedValue.encode(value),
      format,
      name: param,
      outSR: outSROf(c)
    }),
    (done): Answer => ({
      bytes: done.bytes,
      mediaType: done.mediaType === "text/csv" ? "text/csv; charset=utf-8" : done.mediaType,
      headers: { "content-disposition": ResultFiles.contentDisposition(`${param}${done.extension}`) }
    })
  )
}

const parameterAnswer = (
  c: Call,
  job: Job.Job,
  kind: "results" | "inputs",
  param: string | undefined
): Effect.Effect<Answer, InvalidInput | NoResultsYet | NotFound> => {
  const values = kind === "results" ? job.results : job.inputs
  if (kind === "results" && !JobStatus.hasResults(job.status) && param !== undefined) {
    return Effect.fail(new NoResultsYet({ jobId: job.id, status: job.status }))
  }
  const file = ArcGISRequest.fileFormat(c.params)
  if (param === undefined) {
    if (file !== undefined) {
      return Effect.fail(
        new InvalidInput({
          parameter: "f",
          detail: `f=${c.params.f ?? ""} writes one parameter as a file: ask ${kind}/<parameter>`
        })
      )
    }
    const title = `Job ${job.id}: ${kind}`
    const entries = Object.entries(values)
    if (offThread(c, Object.values(values))) {
      return Effect.map(documentsOffThread(c, job, entries, false), (jsonBytes): Answer => ({ jsonBytes, title }))
    }
    return Effect.succeed({
      json: entries.map(([name, v]) => RestJob.parameterValue(name, shaped(c, job, v))),
      title
    })
  }
  const value = values[param]
  if (value === undefined) return Effect.fail(new NotFound({ what: `Parameter ${param} of job ${job.id}` }))
  if (file !== undefined) return fileAnswer(c, param, value, file)
  const title = `Job ${job.id}: ${param}`
  if (offThread(c, [value])) {
    return Effect.map(documentsOffThread(c, job, [[param, value]], true), (jsonBytes): Answer => ({ jsonBytes, title }))
  }
  const s = shaped(c, job, value)
  const json = c.format === "geojson" ? s.value : RestJob.parameterValue(param, s)
  const downloads = [
    ...(value.dataType === "GPFeatureRecordSetLayer" ? ["geojson"] : []),
    ...(ResultFiles.formatsOf[value.dataType] ?? [])
  ]
  if (downloads.length === 0) return Effect.succeed({ json, title })
  // The page of a feature set links to it in every format it downloads as.
  const here = ArcGISResource.url(c.base, ArcGISResource.jobOf(job.service, job.task, job.id, { kind, param }))
  return Effect.succeed({
    json,
    title,
    html: (signedIn) =>
      Html.page({
        signedIn,
        title,
        home: c.home,
        account: c.account,
        document: json,
        links: downloads.map((f) => ({ href: `${here}?f=${f}`, text: `Download as ${f}` }))
      })
  })
}

const jobResource: Routes<"Job">["Job"] = Effect.fnUntraced(function* (c, resource) {
  const service = yield* serviceAt(resource.service)
  const p = yield* serviceAccess(c, service)
  if (resource.task !== undefined && !service.tasks.has(resource.task)) {
    return yield* new NotFound({ what: `Task ${resource.task} of ${ServiceRef.path(service.ref)}` })
  }
  const job = yield* findJob(p, resource.jobId, service, resource.task)
  const part = resource.part
  if (part.kind === "job") {
    const doc = RestJob.fromJob(job, { returnMessages: c.params.returnMessages?.toLowerCase() !== "false" })
    return { json: doc, html: jobPage(c, job, doc) }
  }
  if (part.kind === "cancel") {
    // The HTML cancel is the page's POST form: a GET from a browser (a link, an image on another site) changes nothing.
    if (c.format === "html" && c.request.method !== "POST") return yield* new MethodNotAllowed({ operation: "cancel" })
    // A reader who may not cancel (a publisher, another user's job): refused, the job is visible to them anyway.
    yield* authorize(p, Security.canCancelJob(p, job.user), `You may not cancel job ${job.id}.`)
    const engine = yield* Engine.Engine
    const cancelled = yield* engine.cancel(job.id)
    const shown = JobStatus.pollerView(cancelled.status) ?? cancelled.status
    const answer: RestJob.CancelAnswer = { jobId: cancelled.id, jobStatus: JobStatus.restName(shown) }
    return {
      json: answer,
      redirect: c.format === "html" ? JobUrls.restJob(c.base, job.service, job.task, job.id) : undefined
    }
  }
  const full = yield* (yield* JobStore.JobStore)
    .get(job.id)
    .pipe(Effect.catchTag("NoSuchJob", () => Effect.fail(new NotFound({ what: `Job ${job.id}` }))))
  return yield* parameterAnswer(c, full, part.kind, part.param)
})

const submit = Effect.fnUntraced(function* (
  c: Call,
  service: ServiceRegistry.ServiceDefinition,
  task: ServiceRegistry.TaskDefinition,
  sync: boolean
) {
  const p = yield* serviceAccess(c, service)
  if (sync !== (service.executionType === "sync")) {
    return yield* new WrongExecutionType({ service: ServiceRef.path(service.ref), synchronous: !sync })
  }
  // A service an administrator stopped takes no new job (the ones it has run on).
  yield* (yield* ServiceControl).ensureStarted(service.ref)
  const engine = yield* Engine.Engine
  const submission = { service: service.ref, task: task.name, user: p?.username ?? null, params: c.params }
  if (!sync) {
    const job = yield* engine.submit(submission)
    const url = JobUrls.restJob(c.base, job.service, job.task, job.id)
    return {
      json: RestJob.fromJob(Job.summarize(job)),
      redirect: c.format === "html" ? url : undefined
    } satisfies Answer
  }
  const job = yield* engine.execute(submission)
  const messages = RestJob.fromJob(Job.summarize(job)).messages ?? []
  if (!JobStatus.hasResults(job.status)) {
    return yield* new ToolFailed({
      task: task.name,
      status: job.status,
      messages: job.messages.map((m) => m.description)
    })
  }
  const answer: RestJob.ExecuteAnswer = {
    results: Object.entries(job.results).map(([name, v]) => RestJob.parameterValue(name, v)),
    messages
  }
  return { json: answer, title: `${task.name}: results` } satisfies Answer
})

const serviceResource: Routes<"Service">["Service"] = Effect.fnUntraced(function* (c, resource) {
  const service = yield* serviceAt(resource.service)
  yield* serviceAccess(c, service)
  // The capability is the service's setting, served only when the server has an uploads adapter.
  const uploadsServed = Option.isSome(yield* Effect.serviceOption(Uploads.Uploads))
  const doc = serviceDoc(c, uploadsServed ? service : { ...service, uploads: undefined })
  return {
    json: doc,
    html: (signedIn) =>
      Html.page({
        signedIn,
        title: `${ServiceRef.path(service.ref)} (GPServer)`,
        home: c.home,
        account: c.account,
        document: doc,
        links: [
          ...doc.tasks.map((t) => ({ href: JobUrls.restTask(c.base, service.ref, t), text: t })),
          // The Uploads capability's child resource, as ArcGIS's directory lists it.
          ...(doc.capabilities !== "Uploads"
            ? []
            : [{ href: `${JobUrls.restService(c.base, service.ref)}/uploads`, text: "uploads" }])
        ]
      })
  } satisfies Answer
})

const taskResource: Routes<"Task">["Task"] = Effect.fnUntraced(function* (c, resource) {
  const { service, task } = yield* taskAt(resource.service, resource.task)
  yield* serviceAccess(c, service)
  const doc = taskDoc(service, task)
  const action = ArcGISResource.url(c.base, {
    _tag: service.executionType === "sync" ? "Execute" : "SubmitJob",
    service: service.ref,
    task: task.name
  })
  return {
    json: doc,
    html: (signedIn) =>
      Html.page({
        signedIn,
        title: `Task: ${task.name}`,
        home: c.home,
        account: c.account,
        document: doc,
        extra: Html.submitForm(action, doc.parameters)
      })
  } satisfies Answer
})

const submitAt = Effect.fnUntraced(function* (
  c: Call,
  resource: { readonly service: ServiceRef.ServicePath; readonly task: string },
  sync: boolean
) {
  const { service, task } = yield* taskAt(resource.service, resource.task)
  return yield* submit(c, service, task, sync)
})

const info = (c: Call): Answer => ({
  json: {
    currentVersion: c.settings.currentVersion,
    fullVersion: c.settings.fullVersion,
    authInfo: {
      isTokenBasedSecurity: true,
      tokenServicesUrl: ArcGISResource.url(c.base, { _tag: "Token", endpoint: "tokens/" }),
      shortLivedTokenValidity: c.settings.shortLivedTokenValidity
    }
  } satisfies ServiceDirectory.Info,
  title: "Server Info"
})

/**
 * Serves a job's output file: `rest/directories/arcgisjobs/<service>_gpserver/<jobId>/scratch/<file>`. The URL's
 * service segment must be the job's, the caller must be allowed to use that service, and the file must resolve inside
 * the job's own folder (the `JobFiles` port checks paths, links and encodings).
 */
const outputFile: Routes<"OutputFile">["OutputFile"] = Effect.fnUntraced(function* (c, resource) {
  // The token first, as on every route: a bad one answers 498 whatever the file (not a 404 that reveals less).
  const p = yield* principal(c)
  const store = yield* JobStore.JobStore
  const job = yield* store
    .get(resource.jobId)
    .pipe(Effect.catchTag("NoSuchJob", () => Effect.fail(new NotFound({ what: "File" }))))
  if (!ArcGISResource.isOutputOf(resource, job.service)) return yield* new NotFound({ what: "File" })
  const service = yield* serviceAt(job.service)
  yield* mayUse(p, service)
  // Another user's job: the same answer as a file that does not exist.
  if (!Security.canReadJob(p, job.user)) return yield* new NotFound({ what: "File" })
  const files = yield* JobFiles.JobFiles
  const path = yield* files.resolve(job.id, resource.file.join("/"))
  // Its type by its extension, and always a download: a page or a script a tool wrote must not run on this origin.
  const name = resource.file.at(-1) ?? "download"
  return {
    file: path,
    mediaType: ResultFiles.mediaTypeOf(name),
    headers: { "content-disposition": ResultFiles.contentDisposition(name) }
  } satisfies Answer
})

/**
 * The REST routes, by kind of location.
 *
 * @category constructors
 */
export const routes: Routes<
  "Info" | "Catalog" | "Folder" | "Service" | "Task" | "SubmitJob" | "Execute" | "Job" | "OutputFile"
> = {
  Info: (c) => Effect.succeed(info(c)),
  Catalog: (c) => catalog(c, undefined),
  Folder: (c, resource) => catalog(c, resource.folder),
  Service: serviceResource,
  Task: taskResource,
  SubmitJob: (c, resource) => submitAt(c, resource, false),
  Execute: (c, resource) => submitAt(c, resource, true),
  Job: jobResource,
  OutputFile: outputFile
}
