/**
 * The ArcGIS Enterprise Administrator job API under `<context>/admin/services/[<folder>/]<Name>.GPServer/jobs` — the
 * seed of GeoJobs: the job document (exactly the seed's JSON), the jobs list, the query (time window as ISO, seconds
 * or milliseconds; status; user; 1-based paging with `nextStart` -1 at the end), and the classic-compatible POST
 * operations cancel, delete, purgeQueue and statistics, which answer the admin operation response. Reading needs the
 * Geoprocessing (or Feature layer) privilege or the Publisher or Administrator role; the destructive operations need
 * Administrator, and every POST must carry its token in the body.
 *
 * @module
 */
import { AdminJob, JobQueue, JobStatus, JobStore, JobUrls, ServiceRef } from "@geojobs/core"
import { Engine, ServiceRegistry } from "@geojobs/engine"
import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import { TokenRequired } from "./Accounts.ts"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import { BadRequest, NotFound } from "./Failure.ts"
import { type Answer, authorize, type Call, call, run, type Services, type Settings, signedIn } from "./Handler.ts"
import * as Html from "./Html.ts"
import { segmentsAfter } from "./RestApi.ts"
import * as Security from "./Security.ts"

const reader = Effect.fnUntraced(function* (c: Call) {
  const p = yield* signedIn(c)
  yield* authorize(
    p,
    Security.canReadAdminJobs(p),
    "The admin job resources need the Geoprocessing privilege or the Publisher or Administrator role."
  )
  return p
})

const manager = Effect.fnUntraced(function* (c: Call) {
  // The Enterprise Administrator API: every POST carries its token in the request body.
  if (!ArcGISRequest.tokenInBody(c.request)) return yield* new TokenRequired()
  const p = yield* signedIn(c)
  yield* authorize(p, Security.canManageJobs(p), "Cancelling, deleting and purging jobs needs the Administrator role.")
  return p
})

const success: Answer = { json: { status: "success" } }

const query = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition) {
  yield* reader(c)
  const p = c.params
  const startTime = ArcGISRequest.time(p.startTime)
  const endTime = ArcGISRequest.time(p.endTime)
  if (startTime === null)
    return yield* new BadRequest({
      detail: `startTime ${p.startTime} is not a date (yyyy-mm-ddThh:mm:ss), seconds or milliseconds`
    })
  if (endTime === null)
    return yield* new BadRequest({
      detail: `endTime ${p.endTime} is not a date (yyyy-mm-ddThh:mm:ss), seconds or milliseconds`
    })
  const words = (p.jobStatus ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "")
  const statuses = words.map(JobStatus.parse)
  const unknown = words.find((_, i) => statuses[i] === undefined)
  if (unknown !== undefined)
    return yield* new BadRequest({ detail: `jobStatus ${unknown} is not a job status (esriJobSucceeded, …)` })
  const number = p.number === undefined || p.number === "" ? undefined : Number(p.number)
  const start = p.start === undefined || p.start === "" ? undefined : Number(p.start)
  const store = yield* JobStore.JobStore
  const page = yield* store.query({
    service: service.ref,
    statuses: statuses.length === 0 ? undefined : (statuses as Array<JobStatus.JobStatus>),
    user: p.userName === undefined || p.userName === "" ? undefined : p.userName,
    createdFrom: startTime,
    // endTime defaults to now; given alone, startTime bounds nothing above.
    createdTo: endTime,
    number,
    start
  })
  const doc = {
    total: page.total,
    query: {
      serviceName: service.ref.name,
      folderName: service.ref.folder ?? "",
      userName: p.userName ?? "",
      jobStatus: p.jobStatus ?? "",
      startTime: p.startTime ?? "",
      endTime: p.endTime ?? "",
      number: number ?? JobStore.defaultPageSize
    },
    num: page.num,
    start: page.start,
    nextStart: page.nextStart,
    results: page.results.map((job) => AdminJob.fromJob(job, { baseUrl: c.base }))
  }
  return {
    json: doc,
    html: (signedIn) =>
      Html.page({
        signedIn,
        title: `Jobs of ${ServiceRef.path(service.ref)}`,
        home: c.home,
        extra: `<form method="get"><label>Status <input name="jobStatus" value="${Html.escapeHtml(p.jobStatus ?? "")}"></label><label>User <input name="userName" value="${Html.escapeHtml(p.userName ?? "")}"></label><label>From <input name="startTime" value="${Html.escapeHtml(p.startTime ?? "")}"></label><label>To <input name="endTime" value="${Html.escapeHtml(p.endTime ?? "")}"></label><label>Page size <input name="number" value="${number ?? 10}"></label><input type="hidden" name="start" value="1"><button>Query</button></form><p>${page.total} jobs; showing ${page.start} to ${page.start + page.num - 1}.${page.nextStart > 0 ? ` <a href="?${new URLSearchParams({ ...p, start: String(page.nextStart), f: "html" }).toString().replace(/token=[^&]*&?/, "")}">Next page</a>` : ""}</p>`,
        links: page.results.map((job) => ({
          href: JobUrls.adminJob(c.base, job.service, job.id),
          text: `${job.id} — ${job.status} — ${job.task} — ${job.user ?? "anonymous"} — ${new Date(job.created).toISOString()}`
        }))
      })
  } satisfies Answer
})

const statistics = Effect.fnUntraced(function* (service: ServiceRegistry.ServiceDefinition) {
  const queue = yield* JobQueue.JobQueue
  const counts = yield* queue.countByStatus(service.ref)
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0)
  return {
    json: {
      total,
      cancelled: counts.Cancelled ?? 0,
      failed: (counts.Failed ?? 0) + (counts.TimedOut ?? 0),
      succeeded: counts.Succeeded ?? 0
    }
  } satisfies Answer
})

const jobsOf = Effect.fnUntraced(function* (
  c: Call,
  raw: ReadonlyArray<string>
): Effect.fn.Return<Answer, unknown, Services> {
  const segments = raw.map((s) => {
    try {
      return decodeURIComponent(s)
    } catch {
      return ""
    }
  })
  const at = segments[1] === "jobs" ? 0 : segments[2] === "jobs" ? 1 : -1
  const typed = at < 0 ? "" : (segments[at] ?? "")
  if (at < 0 || !typed.endsWith(".GPServer")) return yield* new NotFound({ what: `Resource ${segments.join("/")}` })
  const path = { folder: at === 1 ? segments[0] : undefined, name: typed.slice(0, -".GPServer".length) }
  const registry = yield* ServiceRegistry.ServiceRegistry
  const service = registry.find(path)
  if (service === undefined) return yield* new NotFound({ what: `Service ${ServiceRef.path(path)}` })
  const below = segments.slice(at + 2)
  const post = c.request.method === "POST"
  if (below.length === 0) return yield* query(c, service)
  if (below.length === 1 && below[0] === "query") return yield* query(c, service)
  if (below.length === 1 && below[0] === "statistics") {
    yield* reader(c)
    return yield* statistics(service)
  }
  if (below.length === 1 && below[0] === "purgeQueue") {
    if (!post) return yield* new BadRequest({ detail: "purgeQueue is a POST operation", code: 405 })
    yield* manager(c)
    const engine = yield* Engine.Engine
    yield* engine.purgeQueue(service.ref)
    return success
  }
  const [id, operation, ...extra] = below
  if (id === undefined || extra.length > 0) return yield* new NotFound({ what: `Resource ${below.join("/")}` })
  const store = yield* JobStore.JobStore
  const job = yield* store.get(id)
  if (!ServiceRef.equals(job.service, service.ref)) return yield* new NotFound({ what: `Job ${id}` })
  if (operation === undefined) {
    yield* reader(c)
    const doc = AdminJob.fromJob(job, { baseUrl: c.base })
    return {
      json: doc,
      html: (signedIn) =>
        Html.page({
          signedIn,
          title: `Job ${job.id}`,
          home: c.home,
          document: doc,
          links: [
            {
              href: JobUrls.restJob(c.base, job.service, job.task, job.id),
              text: "The job in the services directory"
            }
          ]
        })
    } satisfies Answer
  }
  if (operation !== "cancel" && operation !== "delete") return yield* new NotFound({ what: `Operation ${operation}` })
  if (!post) return yield* new BadRequest({ detail: `${operation} is a POST operation`, code: 405 })
  yield* manager(c)
  const engine = yield* Engine.Engine
  if (operation === "cancel") {
    yield* engine
      .cancel(job.id)
      .pipe(
        Effect.catchTag("InvalidTransition", () =>
          Effect.fail(new BadRequest({ detail: `Unable to cancel job :[${job.id}]`, code: 500 }))
        )
      )
  } else {
    yield* engine.delete(job.id)
  }
  return success
})

/**
 * Registers the admin job routes.
 *
 * @category constructors
 */
export const register = (app: FastifyInstance, settings: Settings): void => {
  const prefix = `${settings.contextPath}/admin/services/`
  app.route({
    method: ["GET", "POST"],
    url: `${prefix}*`,
    handler: (request, reply) => {
      const c = call(request, settings)
      return run(reply, c, "admin", jobsOf(c, segmentsAfter(request.url, prefix)))
    }
  })
}
