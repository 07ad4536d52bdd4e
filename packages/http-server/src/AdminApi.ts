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
import {
  AdminJob,
  type AdminQuery,
  ArcGISResource,
  CallbackOutbox,
  JobQueue,
  JobStatus,
  JobStore,
  JobUrls,
  ServiceRef
} from "@geojobs/core"
import { Engine, type ServiceRegistry } from "@geojobs/engine"
import { Effect, Option } from "effect"
import { TokenRequired } from "./Accounts.ts"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import { CannotCancel, InvalidInput, MethodNotAllowed, NotFound } from "./Failure.ts"
import { type Answer, authorize, type Call, type Routes, signedIn } from "./Handler.ts"
import * as Html from "./Html.ts"
import { serviceAt } from "./RestApi.ts"
import * as Security from "./Security.ts"

// A service the caller may not use reads as missing here too: the admin API never shows its jobs.
const usable = (p: Security.Principal, service: ServiceRegistry.ServiceDefinition) =>
  Security.canUseService(p, service.access)
    ? Effect.void
    : Effect.fail(new NotFound({ what: `Service ${ServiceRef.path(service.ref)}` }))

const reader = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition) {
  // Reads may be POSTed too (the query form does); a POST carries its token in the body like every admin POST.
  if (c.request.method === "POST" && !ArcGISRequest.tokenInBody(c.request)) return yield* new TokenRequired()
  const p = yield* signedIn(c)
  yield* authorize(
    p,
    Security.canReadAdminJobs(p),
    "The admin job resources need the Geoprocessing privilege or the Publisher or Administrator role."
  )
  yield* usable(p, service)
  return p
})

const manager = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition) {
  // The Enterprise Administrator API: every POST carries its token in the request body.
  if (!ArcGISRequest.tokenInBody(c.request)) return yield* new TokenRequired()
  const p = yield* signedIn(c)
  yield* authorize(p, Security.canManageJobs(p), "Cancelling, deleting and purging jobs needs the Administrator role.")
  yield* usable(p, service)
  return p
})

const success: Answer = { json: { status: "success" } satisfies AdminQuery.Operation }

const query = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition) {
  const caller = yield* reader(c, service)
  const p = c.params
  const startTime = ArcGISRequest.time(p.startTime)
  const endTime = ArcGISRequest.time(p.endTime)
  if (startTime === null)
    return yield* new InvalidInput({
      parameter: "startTime",
      detail: `startTime ${p.startTime} is not a date (yyyy-mm-ddThh:mm:ss), seconds or milliseconds`
    })
  if (endTime === null)
    return yield* new InvalidInput({
      parameter: "endTime",
      detail: `endTime ${p.endTime} is not a date (yyyy-mm-ddThh:mm:ss), seconds or milliseconds`
    })
  const words = (p.jobStatus ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "")
  const statuses = words.map(JobStatus.parse)
  const unknown = words.find((_, i) => statuses[i] === undefined)
  if (unknown !== undefined)
    return yield* new InvalidInput({
      parameter: "jobStatus",
      detail: `jobStatus ${unknown} is not a job status (esriJobSucceeded, …)`
    })
  const number = p.number === undefined || p.number === "" ? undefined : Number(p.number)
  const start = p.start === undefined || p.start === "" ? undefined : Number(p.start)
  const store = yield* JobStore.JobStore
  const asked = p.userName === undefined || p.userName === "" ? undefined : p.userName
  // Without viewJobs or manageJobs a caller lists only their own jobs; asking for another user's finds none.
  const user = Security.canViewAllJobs(caller)
    ? asked
    : asked === undefined || asked === caller.username
      ? caller.username
      : null
  const found = yield* store.query({
    service: service.ref,
    statuses: statuses.length === 0 ? undefined : (statuses as Array<JobStatus.JobStatus>),
    user: user === null ? undefined : user,
    createdFrom: startTime,
    // endTime defaults to now; given alone, startTime bounds nothing above.
    createdTo: endTime,
    number,
    start
  })
  const page = user === null ? { ...found, total: 0, num: 0, nextStart: -1, results: [] } : found
  const doc: AdminQuery.Page = {
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
        account: c.account,
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
  const bucket = (b: JobStatus.StatisticsBucket) =>
    JobStatus.inBucket(b).reduce((n, status) => n + (counts[status] ?? 0), 0)
  const doc: AdminQuery.Statistics = {
    total,
    cancelled: bucket("cancelled"),
    failed: bucket("failed"),
    succeeded: bucket("succeeded")
  }
  return { json: doc } satisfies Answer
})

const jobs: Routes<"AdminJobs">["AdminJobs"] = Effect.fnUntraced(function* (c, resource) {
  const service = yield* serviceAt(resource.service)
  if (resource.operation === "list" || resource.operation === "query") return yield* query(c, service)
  if (resource.operation === "statistics") {
    const p = yield* reader(c, service)
    // Counts over every user's jobs: only for callers who may see them all.
    yield* authorize(p, Security.canViewAllJobs(p), "The statistics of all jobs need the viewJobs privilege.")
    return yield* statistics(service)
  }
  if (c.request.method !== "POST") return yield* new MethodNotAllowed({ operation: resource.operation })
  yield* manager(c, service)
  const engine = yield* Engine.Engine
  yield* engine.purgeQueue(service.ref)
  return success
})

const job: Routes<"AdminJob">["AdminJob"] = Effect.fnUntraced(function* (c, resource) {
  const service = yield* serviceAt(resource.service)
  const isRead = resource.part.kind === "job" || resource.part.kind === "callbacks"
  if (!isRead && c.request.method !== "POST") return yield* new MethodNotAllowed({ operation: resource.part.kind })
  // Who is asking first: a bad token answers 498/499 whether or not the job exists.
  const p = isRead ? yield* reader(c, service) : yield* manager(c, service)
  const store = yield* JobStore.JobStore
  const missing = new NotFound({ what: `Job ${resource.jobId}` })
  const found = yield* store.getSummary(resource.jobId).pipe(Effect.catchTag("NoSuchJob", () => Effect.fail(missing)))
  // Another service's job, or another user's for a caller who sees only their own: as if it did not exist.
  if (!ServiceRef.equals(found.service, service.ref) || !Security.canSeeInAdmin(p, found.user)) return yield* missing
  if (resource.part.kind === "job") {
    const doc = AdminJob.fromJob(found, { baseUrl: c.base })
    return {
      json: doc,
      html: (signedIn) =>
        Html.page({
          signedIn,
          title: `Job ${found.id}`,
          home: c.home,
          account: c.account,
          document: doc,
          links: [
            {
              href: JobUrls.restJob(c.base, found.service, found.task, found.id),
              text: "The job in the services directory"
            },
            // Only where there are callbacks to see: the seed document itself never changes.
            ...(found.subscriber === undefined
              ? []
              : [
                  {
                    href: ArcGISResource.url(
                      c.base,
                      ArcGISResource.adminJobOf(found.service, found.id, { kind: "callbacks" })
                    ),
                    text: "Its OGC callbacks and their deliveries"
                  }
                ])
          ]
        })
    } satisfies Answer
  }
  if (resource.part.kind === "callbacks") {
    // Its OGC callbacks and how their deliveries went (none for a job without a subscriber, or without an outbox).
    const outbox = Option.getOrUndefined(yield* Effect.serviceOption(CallbackOutbox.CallbackOutbox))
    const doc = CallbackOutbox.toAdmin(found.id, outbox === undefined ? [] : yield* outbox.ofJob(found.id))
    return {
      json: doc,
      html: (signedIn) =>
        Html.page({
          signedIn,
          title: `Callbacks of job ${found.id}`,
          home: c.home,
          account: c.account,
          document: doc,
          links: [
            { href: ArcGISResource.url(c.base, ArcGISResource.adminJobOf(found.service, found.id)), text: "The job" }
          ]
        })
    } satisfies Answer
  }
  const engine = yield* Engine.Engine
  if (resource.part.kind === "cancel") {
    yield* engine
      .cancel(found.id)
      .pipe(Effect.catchTag("InvalidTransition", () => Effect.fail(new CannotCancel({ jobId: found.id }))))
  } else {
    yield* engine.delete(found.id)
  }
  return success
})

/**
 * The admin job routes, by kind of location.
 *
 * @category constructors
 */
export const routes: Routes<"AdminJobs" | "AdminJob"> = { AdminJobs: jobs, AdminJob: job }
