/**
 * Building and parsing the URLs of jobs, under a server base URL that includes its context path
 * (`https://host/arcgis`): the admin job resource (the seed), the REST task-level and service-level job resources,
 * and the cancel/delete/results/inputs resources below them. Parsing is the exact inverse of building: names are
 * percent-encoded on the way out and checked by {@link ServiceRef.nameProblem} on the way in.
 *
 * @module
 */
import { Effect } from "effect"
import { InvalidReference, type ReferencePart } from "./JobError.ts"
import * as JobId from "./JobId.ts"
import * as ServiceRef from "./ServiceRef.ts"

/**
 * The part of a service reference that appears in URLs.
 *
 * @category models
 */
export type ServicePath = Pick<ServiceRef.ServiceRef, "folder" | "name">

/**
 * What below a job a URL addresses. `delete` exists only in the admin API; `results` and `inputs` only in REST.
 *
 * @category models
 */
export type Resource =
  | { readonly kind: "job" }
  | { readonly kind: "cancel" }
  | { readonly kind: "delete" }
  | { readonly kind: "results"; readonly param?: string }
  | { readonly kind: "inputs"; readonly param?: string }

/**
 * A job URL, read into its parts. `task` is absent for the admin API and for the REST service-level alias
 * (`…/GPServer/jobs/<id>`, the seed's `url`).
 *
 * @category models
 */
export interface JobLocation {
  readonly api: "admin" | "rest"
  readonly service: ServicePath
  readonly task?: string | undefined
  readonly jobId: JobId.JobId
  readonly resource: Resource
}

const trimBase = (baseUrl: string): string => baseUrl.replace(/\/+$/, "")
const enc = encodeURIComponent
const folderPrefix = (service: ServicePath): string => (service.folder === undefined ? "" : `${enc(service.folder)}/`)

/**
 * `<base>/rest/services/[<folder>/]<Name>/GPServer`
 *
 * @category constructors
 */
export const restService = (baseUrl: string, service: ServicePath): string =>
  `${trimBase(baseUrl)}/rest/services/${folderPrefix(service)}${enc(service.name)}/GPServer`

/**
 * `<base>/rest/services/[<folder>/]<Name>/GPServer/<task>`
 *
 * @category constructors
 */
export const restTask = (baseUrl: string, service: ServicePath, task: string): string =>
  `${restService(baseUrl, service)}/${enc(task)}`

/**
 * `<base>/admin/services/[<folder>/]<Name>.GPServer`
 *
 * @category constructors
 */
export const adminService = (baseUrl: string, service: ServicePath): string =>
  `${trimBase(baseUrl)}/admin/services/${folderPrefix(service)}${enc(service.name)}.GPServer`

const resourceSuffix = (resource: Resource): string => {
  if (resource.kind === "job") return ""
  if ((resource.kind === "results" || resource.kind === "inputs") && resource.param !== undefined) {
    return `/${resource.kind}/${enc(resource.param)}`
  }
  return `/${resource.kind}`
}

/**
 * The URL of a job location.
 *
 * @category constructors
 */
export const build = (baseUrl: string, location: JobLocation): string => {
  const root =
    location.api === "admin"
      ? adminService(baseUrl, location.service)
      : location.task === undefined
        ? restService(baseUrl, location.service)
        : restTask(baseUrl, location.service, location.task)
  return `${root}/jobs/${location.jobId}${resourceSuffix(location.resource)}`
}

/**
 * The admin job resource (the seed endpoint): `…/admin/services/[<folder>/]<Name>.GPServer/jobs/<id>`.
 *
 * @category constructors
 */
export const adminJob = (baseUrl: string, service: ServicePath, jobId: JobId.JobId): string =>
  build(baseUrl, { api: "admin", service, jobId, resource: { kind: "job" } })

/**
 * The REST task-level job resource: `…/rest/services/[<folder>/]<Name>/GPServer/<task>/jobs/<id>`.
 *
 * @category constructors
 */
export const restJob = (baseUrl: string, service: ServicePath, task: string, jobId: JobId.JobId): string =>
  build(baseUrl, { api: "rest", service, task, jobId, resource: { kind: "job" } })

/**
 * The REST service-level job resource, the seed's `url`: `…/rest/services/[<folder>/]<Name>/GPServer/jobs/<id>`.
 *
 * @category constructors
 */
export const restServiceJob = (baseUrl: string, service: ServicePath, jobId: JobId.JobId): string =>
  build(baseUrl, { api: "rest", service, jobId, resource: { kind: "job" } })

const invalid = (part: ReferencePart, value: string, reason: string) =>
  Effect.fail(new InvalidReference({ part, value, reason }))

const decodeName = (part: ReferencePart, raw: string): Effect.Effect<string, InvalidReference> => {
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return invalid(part, raw, "it is not valid percent-encoding")
  }
  return part === "folder" || part === "service" || part === "task" || part === "param"
    ? ServiceRef.checkName(part, decoded)
    : Effect.succeed(decoded)
}

const decodeJobId = (raw: string | undefined): Effect.Effect<string, InvalidReference> =>
  raw !== undefined && JobId.isJobId(raw)
    ? Effect.succeed(raw)
    : invalid("jobId", raw ?? "", "a job id is j followed by 32 lowercase hex digits")

const decodeResource = (
  api: JobLocation["api"],
  rest: ReadonlyArray<string>
): Effect.Effect<Resource, InvalidReference> => {
  const [head, param, ...extra] = rest
  if (head === undefined) return Effect.succeed({ kind: "job" })
  if (extra.length > 0) return invalid("path", rest.join("/"), "too many segments after the job id")
  if (head === "cancel" && param === undefined) return Effect.succeed({ kind: "cancel" })
  if (api === "admin" && head === "delete" && param === undefined) return Effect.succeed({ kind: "delete" })
  if (api === "rest" && (head === "results" || head === "inputs")) {
    return param === undefined
      ? Effect.succeed({ kind: head })
      : Effect.map(decodeName("param", param), (p) => ({ kind: head, param: p }))
  }
  const allowed = api === "admin" ? "cancel or delete" : "cancel, results[/<param>] or inputs[/<param>]"
  return invalid("path", rest.join("/"), `a job's sub-resource is ${allowed}`)
}

const servicePath = (folder: string | undefined, name: string): ServicePath =>
  folder === undefined ? { name } : { folder, name }

const parseRest = (segments: ReadonlyArray<string>): Effect.Effect<JobLocation, InvalidReference> =>
  Effect.gen(function* () {
    const at = segments[1] === "GPServer" ? 1 : segments[2] === "GPServer" ? 2 : -1
    if (at < 0) return yield* invalid("serviceType", segments.join("/"), "expected [<folder>/]<Name>/GPServer")
    const folder = at === 2 ? yield* decodeName("folder", segments[0] ?? "") : undefined
    const name = yield* decodeName("service", segments[at - 1] ?? "")
    const below = segments.slice(at + 1)
    // `jobs/<id>` is the service-level alias; `<task>/jobs/<id>` the task level (a task may itself be named "jobs").
    if (below[0] === "jobs" && below[1] !== "jobs") {
      const jobId = yield* decodeJobId(below[1])
      const resource = yield* decodeResource("rest", below.slice(2))
      return { api: "rest", service: servicePath(folder, name), jobId, resource }
    }
    if (below[1] !== "jobs")
      return yield* invalid("path", below.join("/"), "expected jobs/<jobId> or <task>/jobs/<jobId>")
    const task = yield* decodeName("task", below[0] ?? "")
    const jobId = yield* decodeJobId(below[2])
    const resource = yield* decodeResource("rest", below.slice(3))
    return { api: "rest", service: servicePath(folder, name), task, jobId, resource }
  })

const parseAdmin = (segments: ReadonlyArray<string>): Effect.Effect<JobLocation, InvalidReference> =>
  Effect.gen(function* () {
    const at = segments[1] === "jobs" ? 0 : segments[2] === "jobs" ? 1 : -1
    const typed = segments[at] ?? ""
    if (at < 0 || !typed.endsWith(".GPServer")) {
      return yield* invalid("serviceType", segments.join("/"), "expected [<folder>/]<Name>.GPServer/jobs/<jobId>")
    }
    const folder = at === 1 ? yield* decodeName("folder", segments[0] ?? "") : undefined
    const name = yield* decodeName("service", typed.slice(0, -".GPServer".length))
    const jobId = yield* decodeJobId(segments[at + 2])
    const resource = yield* decodeResource("admin", segments.slice(at + 3))
    return { api: "admin", service: servicePath(folder, name), jobId, resource }
  })

/**
 * Reads a job URL built under `baseUrl` (a query string or fragment is ignored). Fails with an `InvalidReference`
 * that names the part that is wrong.
 *
 * @category constructors
 */
export const parse = (baseUrl: string, url: string): Effect.Effect<JobLocation, InvalidReference> => {
  const base = trimBase(baseUrl)
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(base))
    return invalid("baseUrl", baseUrl, "expected http(s)://host[/context]")
  const withoutQuery = url.replace(/[?#].*$/s, "")
  if (!withoutQuery.startsWith(`${base}/`)) return invalid("baseUrl", url, `the URL is not under ${base}`)
  const segments = withoutQuery.slice(base.length + 1).split("/")
  const empty = segments.indexOf("")
  if (empty >= 0) return invalid("path", withoutQuery, "it has an empty segment")
  const [api, services, ...rest] = segments
  if (services !== "services" || (api !== "rest" && api !== "admin")) {
    return invalid("path", withoutQuery, "expected …/rest/services/… or …/admin/services/…")
  }
  return api === "rest" ? parseRest(rest) : parseAdmin(rest)
}
