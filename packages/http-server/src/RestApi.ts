/**
 * The user-facing GP REST API under `<context>/rest`: server info, the services directory (catalog, folders, GPServer
 * and task resources), `submitJob` and `execute`, the job resource at task and service level, cancel, results and
 * inputs (all, or one parameter; feature results also as GeoJSON), and the jobs' output files under
 * `rest/directories/arcgisjobs`. Routes translate requests and documents only: every rule lives in core, tools or the
 * engine.
 *
 * @module
 */
import { createReadStream, realpathSync, statSync } from "node:fs"
import { relative, resolve, sep } from "node:path"
import { type Job, JobStatus, JobStore, JobUrls, RestJob, ServiceRef } from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { EsriGeometry, TaskDescription } from "@geojobs/tools"
import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import { BadRequest, NotFound } from "./Failure.ts"
import { type Answer, authorize, type Call, call, principal, run, type Services, type Settings } from "./Handler.ts"
import * as Html from "./Html.ts"
import * as Security from "./Security.ts"

const maximumRecords = 1000

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** The path below `prefix` (raw, query stripped), split into segments. */
export const segmentsAfter = (url: string, prefix: string): ReadonlyArray<string> => {
  const path = url.replace(/[?#].*$/s, "")
  const rest = path.startsWith(prefix) ? path.slice(prefix.length) : ""
  return rest === "" ? [] : rest.replace(/\/+$/, "").split("/")
}

const serviceAccess = (c: Call, service: ServiceRegistry.ServiceDefinition) =>
  Effect.flatMap(principal(c), (p) =>
    Effect.as(
      authorize(p, Security.canUseService(p, service.access), `You may not use ${ServiceRef.path(service.ref)}.`),
      p
    )
  )

const visibleServices = Effect.fnUntraced(function* (c: Call) {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const p = yield* principal(c)
  return registry.services.filter((s) => Security.canUseService(p, s.access))
})

const catalog = Effect.fnUntraced(function* (
  c: Call,
  folder: string | undefined
): Effect.fn.Return<Answer, unknown, Services> {
  const services = yield* visibleServices(c)
  const registry = yield* ServiceRegistry.ServiceRegistry
  if (folder !== undefined && !registry.services.some((s) => s.ref.folder === folder)) {
    return yield* new NotFound({ what: `Folder ${folder}` })
  }
  const here = services.filter((s) => s.ref.folder === folder)
  const doc = {
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

const serviceDoc = (c: Call, service: ServiceRegistry.ServiceDefinition) => ({
  currentVersion: c.settings.currentVersion,
  serviceDescription: service.description,
  tasks: [...service.tasks.keys()],
  executionType: service.executionType === "sync" ? "esriExecutionTypeSynchronous" : "esriExecutionTypeAsynchronous",
  resultMapServerName: "",
  maximumRecords,
  capabilities: ""
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

/** Jobs of another service (or task) read as missing, as do jobs being deleted. */
const findJob = Effect.fnUntraced(function* (
  id: string,
  service: ServiceRegistry.ServiceDefinition,
  task: string | undefined
): Effect.fn.Return<Job.Job, unknown, JobStore.JobStore> {
  const store = yield* JobStore.JobStore
  const job = yield* store.get(id)
  const belongs =
    ServiceRef.equals(job.service, service.ref) &&
    (task === undefined || job.task === task) &&
    JobStatus.pollerView(job.status) !== null
  if (!belongs) return yield* new NotFound({ what: `Job ${id}` })
  return job
})

const jobPage = (c: Call, job: Job.Job, doc: RestJob.RestJob) => (signedIn: string | undefined) => {
  const url = JobUrls.restJob(c.base, job.service, job.task, job.id)
  const progress = job.progress
  return Html.page({
    signedIn,
    title: `Job ${job.id}`,
    home: c.home,
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

/**
 * A value as asked: a tool's output file as its URL; a feature set reprojected to `outSR` (a wkid or `{"wkid":…}`),
 * or as a GeoJSON FeatureCollection for `f=geojson`. Other values pass through.
 */
const shaped = (c: Call, job: Job.Job, value: Job.JobValue): Effect.Effect<Job.JobValue, BadRequest> => {
  const file = value.value as { path?: unknown } | null
  if (value.dataType === "GPDataFile" && typeof file?.path === "string") {
    // A tool's output file, written in its job's folder: answered as the URL ArcGIS clients expect.
    const path = file.path.split("/").map(encodeURIComponent).join("/")
    const folder = `${encodeURIComponent(job.service.name.toLowerCase())}_gpserver`
    return Effect.succeed({
      dataType: value.dataType,
      value: { url: `${c.base}/rest/directories/arcgisjobs/${folder}/${job.id}/scratch/${path}` }
    })
  }
  if (value.dataType !== "GPFeatureRecordSetLayer" || value.value === null || typeof value.value !== "object") {
    return Effect.succeed(value)
  }
  const outSR = c.params.outSR?.trim()
  return Effect.try({
    try: () => {
      if (c.format === "geojson")
        return { dataType: value.dataType, value: EsriGeometry.toGeoJSON(value.value).features }
      if (!outSR) return value
      // outSR is a wkid, or spatial-reference JSON, which projection() reads as it is.
      const read = EsriGeometry.toGeoJSON(value.value)
      return {
        dataType: value.dataType,
        value: EsriGeometry.fromGeoJSON(read.features, {
          wkid: outSR,
          fields: read.fields,
          geometryType: read.geometryType
        })
      }
    },
    catch: (cause) => new BadRequest({ detail: `outSR: ${cause instanceof Error ? cause.message : String(cause)}` })
  })
}

const parameterAnswer = (
  c: Call,
  job: Job.Job,
  kind: "results" | "inputs",
  param: string | undefined
): Effect.Effect<Answer, unknown> => {
  const values = kind === "results" ? job.results : job.inputs
  if (kind === "results" && !JobStatus.hasResults(job.status) && param !== undefined) {
    return Effect.fail(
      new BadRequest({ detail: `Job ${job.id} has not succeeded (it is ${job.status}): it has no results yet.` })
    )
  }
  if (param === undefined) {
    return Effect.map(
      Effect.forEach(Object.entries(values), ([name, v]) =>
        Effect.map(shaped(c, job, v), (s) => RestJob.parameterValue(name, s))
      ),
      (all): Answer => ({ json: all, title: `Job ${job.id}: ${kind}` })
    )
  }
  const value = values[param]
  if (value === undefined) return Effect.fail(new NotFound({ what: `Parameter ${param} of job ${job.id}` }))
  return Effect.map(
    shaped(c, job, value),
    (s): Answer => ({
      json: c.format === "geojson" ? s.value : RestJob.parameterValue(param, s),
      title: `Job ${job.id}: ${param}`
    })
  )
}

const jobResource = Effect.fnUntraced(function* (
  c: Call,
  service: ServiceRegistry.ServiceDefinition,
  task: string | undefined,
  id: string,
  below: ReadonlyArray<string>
): Effect.fn.Return<Answer, unknown, Services> {
  yield* serviceAccess(c, service)
  const job = yield* findJob(id, service, task)
  const [head, param, ...extra] = below
  if (extra.length > 0) return yield* new NotFound({ what: `Resource ${below.join("/")}` })
  if (head === undefined) {
    const doc = RestJob.fromJob(job, { returnMessages: c.params.returnMessages?.toLowerCase() !== "false" })
    return { json: doc, html: jobPage(c, job, doc) }
  }
  if (head === "cancel" && param === undefined) {
    const engine = yield* Engine.Engine
    const cancelled = yield* engine.cancel(job.id)
    const shown = JobStatus.pollerView(cancelled.status) ?? cancelled.status
    return {
      json: { jobId: cancelled.id, jobStatus: JobStatus.restName(shown) },
      redirect: c.format === "html" ? JobUrls.restJob(c.base, job.service, job.task, job.id) : undefined
    }
  }
  if (head === "results" || head === "inputs") {
    const name = param === undefined ? undefined : decode(param)
    if (param !== undefined && name === undefined)
      return yield* new BadRequest({ detail: `Bad parameter name ${param}` })
    return yield* parameterAnswer(c, job, head, name)
  }
  return yield* new NotFound({ what: `Resource ${below.join("/")} of job ${id}` })
})

const submit = Effect.fnUntraced(function* (
  c: Call,
  service: ServiceRegistry.ServiceDefinition,
  task: ServiceRegistry.TaskDefinition,
  sync: boolean
) {
  const p = yield* serviceAccess(c, service)
  if (sync !== (service.executionType === "sync")) {
    return yield* new BadRequest({
      detail: sync
        ? `${ServiceRef.path(service.ref)} is asynchronous: use submitJob.`
        : `${ServiceRef.path(service.ref)} is synchronous: use execute.`
    })
  }
  const engine = yield* Engine.Engine
  const submission = { service: service.ref, task: task.name, user: p?.username ?? null, params: c.params }
  if (!sync) {
    const job = yield* engine.submit(submission)
    const url = JobUrls.restJob(c.base, job.service, job.task, job.id)
    return { json: RestJob.fromJob(job), redirect: c.format === "html" ? url : undefined } satisfies Answer
  }
  const job = yield* engine.execute(submission)
  const messages = RestJob.fromJob(job).messages ?? []
  if (!JobStatus.hasResults(job.status)) {
    return yield* new BadRequest({
      code: 500,
      detail: `Error executing tool ${task.name}: ${job.status}. ${job.messages.map((m) => m.description).join(" ")}`
    })
  }
  return {
    json: { results: Object.entries(job.results).map(([name, v]) => RestJob.parameterValue(name, v)), messages },
    title: `${task.name}: results`
  } satisfies Answer
})

const services = Effect.fnUntraced(function* (
  c: Call,
  raw: ReadonlyArray<string>
): Effect.fn.Return<Answer, unknown, Services> {
  const segments = raw.map(decode)
  if (segments.some((s) => s === undefined || s === "")) return yield* new BadRequest({ detail: "Malformed path" })
  const seg = segments as ReadonlyArray<string>
  if (seg.length === 0) return yield* catalog(c, undefined)
  const at = raw[1] === "GPServer" ? 1 : raw[2] === "GPServer" ? 2 : -1
  if (at < 0) {
    if (seg.length === 1) return yield* catalog(c, seg[0])
    return yield* new NotFound({ what: `Service ${seg.join("/")}` })
  }
  const path = at === 2 ? { folder: seg[0], name: seg[1] ?? "" } : { name: seg[0] ?? "" }
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(path)
  if (service === undefined) return yield* new NotFound({ what: `Service ${ServiceRef.path(path)}` })
  const below = seg.slice(at + 1)
  if (below.length === 0) {
    yield* serviceAccess(c, service)
    const doc = serviceDoc(c, service)
    return {
      json: doc,
      html: (signedIn) =>
        Html.page({
          signedIn,
          title: `${ServiceRef.path(service.ref)} (GPServer)`,
          home: c.home,
          document: doc,
          links: doc.tasks.map((t) => ({ href: JobUrls.restTask(c.base, service.ref, t), text: t }))
        })
    }
  }
  if (below[0] === "jobs" && below[1] !== "jobs" && below[1] !== undefined) {
    return yield* jobResource(c, service, undefined, below[1], below.slice(2))
  }
  const taskName = below[0] ?? ""
  const task = service.tasks.get(taskName)
  if (task === undefined) return yield* new NotFound({ what: `Task ${taskName} of ${ServiceRef.path(service.ref)}` })
  if (below.length === 1) {
    yield* serviceAccess(c, service)
    const doc = taskDoc(service, task)
    const action = `${JobUrls.restTask(c.base, service.ref, task.name)}/${service.executionType === "sync" ? "execute" : "submitJob"}`
    return {
      json: doc,
      html: (signedIn) =>
        Html.page({
          signedIn,
          title: `Task: ${task.name}`,
          home: c.home,
          document: doc,
          extra: Html.submitForm(action, doc.parameters)
        })
    }
  }
  if (below.length === 2 && (below[1] === "submitJob" || below[1] === "execute")) {
    return yield* submit(c, service, task, below[1] === "execute")
  }
  if (below[1] === "jobs" && below[2] !== undefined)
    return yield* jobResource(c, service, task.name, below[2], below.slice(3))
  return yield* new NotFound({ what: `Resource ${seg.join("/")}` })
})

const info = (c: Call): Answer => ({
  json: {
    currentVersion: c.settings.currentVersion,
    fullVersion: c.settings.fullVersion,
    authInfo: {
      isTokenBasedSecurity: true,
      tokenServicesUrl: `${c.base}/tokens/`,
      shortLivedTokenValidity: c.settings.shortLivedTokenValidity
    }
  },
  title: "Server Info"
})

/**
 * Serves a job's output file: `rest/directories/arcgisjobs/<service>_gpserver/<jobId>/scratch/<file>`. The file must
 * resolve inside the job's own folder — no path, link or encoding escapes it.
 *
 * @category constructors
 */
const outputFile = Effect.fnUntraced(function* (c: Call, raw: ReadonlyArray<string>) {
  const [, jobId, scratch, ...file] = raw.map(decode)
  if (
    jobId === undefined ||
    scratch !== "scratch" ||
    file.length === 0 ||
    file.some((s) => s === undefined || s === "" || s === "." || s === "..")
  ) {
    return yield* new NotFound({ what: "File" })
  }
  const store = yield* JobStore.JobStore
  const job = yield* store.get(jobId)
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(job.service)
  if (service === undefined) return yield* new NotFound({ what: "File" })
  yield* serviceAccess(c, service)
  const engine = yield* Engine.Engine
  const root = engine.outputDir(job.id)
  const target = resolve(root, ...(file as Array<string>))
  const real = yield* Effect.try({ try: () => realpathSync(target), catch: () => new NotFound({ what: "File" }) })
  const realRoot = yield* Effect.try({ try: () => realpathSync(root), catch: () => new NotFound({ what: "File" }) })
  const inside = relative(realRoot, real)
  if (inside.startsWith("..") || inside.startsWith(sep) || !statSync(real).isFile())
    return yield* new NotFound({ what: "File" })
  return real
})

/**
 * Registers the REST routes.
 *
 * @category constructors
 */
export const register = (app: FastifyInstance, settings: Settings): void => {
  const prefix = `${settings.contextPath}/rest`
  const both = ["GET", "POST"] as const
  app.route({
    method: [...both],
    url: `${prefix}/info`,
    handler: (request, reply) =>
      run(reply, call(request, settings), "rest", Effect.succeed(info(call(request, settings))))
  })
  app.route({
    method: [...both],
    url: `${prefix}/services`,
    handler: (request, reply) => {
      const c = call(request, settings)
      return run(reply, c, "rest", services(c, []))
    }
  })
  app.route({
    method: [...both],
    url: `${prefix}/services/*`,
    handler: (request, reply) => {
      const c = call(request, settings)
      return run(reply, c, "rest", services(c, segmentsAfter(request.url, `${prefix}/services/`)))
    }
  })
  app.get(`${prefix}/directories/arcgisjobs/*`, async (request, reply) => {
    const c = call(request, settings, "json")
    const exit = await settings.runtime.runPromiseExit(
      outputFile(c, segmentsAfter(request.url, `${prefix}/directories/arcgisjobs/`))
    )
    if (exit._tag === "Success") return reply.type("application/octet-stream").send(createReadStream(exit.value))
    return run(reply, c, "rest", Effect.fail(new NotFound({ what: "File" })))
  })
}
