/**
 * The ArcGIS resource grammar: every location a GeoJobs server answers (and an ArcGIS client asks for), relative to
 * the server's context path (`https://host/arcgis` → `rest/info`, `rest/services/…`, `admin/services/…`, `tokens`…),
 * as one discriminated union. {@link build} and {@link parse} are exact inverses: names are percent-encoded on the way
 * out (`encodeURIComponent`) and checked by {@link ServiceRef.checkName} on the way in, job ids by {@link JobId}.
 * Servers read request paths with {@link parseRequest} (which also takes other valid spellings of a name); clients
 * build URLs with {@link url} and read them back with {@link parseUrl}.
 *
 * A malformed name in a known place (`%zz`, an empty segment, `..`, a bad job id) fails with an `InvalidReference`
 * naming the part (an HTTP server answers 400); a path that is no location at all fails with `NoSuchResource` (404).
 *
 * @module
 */
import { Effect } from "effect"
import { InvalidReference, NoSuchResource, type ReferencePart } from "./JobError.ts"
import * as JobId from "./JobId.ts"
import * as ServiceRef from "./ServiceRef.ts"
import * as Uploads from "./Uploads.ts"

/**
 * A service as URLs name it: optional folder and name.
 *
 * @category models
 */
export type ServicePath = ServiceRef.ServicePath

/**
 * What below a REST job a location addresses: the job itself, its cancel operation, or its results or inputs (all,
 * or one parameter).
 *
 * @category models
 */
export type JobPart =
  | { readonly kind: "job" }
  | { readonly kind: "cancel" }
  | { readonly kind: "results"; readonly param?: string | undefined }
  | { readonly kind: "inputs"; readonly param?: string | undefined }

/**
 * What below an admin job a location addresses: the job (the seed document), its OGC callbacks and how their
 * deliveries went (`callbacks`, a GeoJobs resource: the seed document stays as it is), or its cancel or delete
 * operation.
 *
 * @category models
 */
export type AdminJobPart =
  | { readonly kind: "job" }
  | { readonly kind: "callbacks" }
  | { readonly kind: "cancel" }
  | { readonly kind: "delete" }

/**
 * The service-wide admin job resources: the jobs list, the query, the statistics and the purgeQueue operation.
 *
 * @category models
 */
export type AdminJobsOperation = "list" | "query" | "statistics" | "purgeQueue"

/**
 * What below a service's `uploads` a location addresses (ArcGIS's upload resources, when the service has the Uploads
 * capability): the list, `info`, the `upload` and `register` operations, and an item with its operations.
 *
 * @category models
 */
export type UploadsOperation =
  | { readonly kind: "list" }
  | { readonly kind: "info" }
  | { readonly kind: "upload" }
  | { readonly kind: "register" }
  | { readonly kind: "item"; readonly itemId: Uploads.ItemId }
  | { readonly kind: "uploadPart"; readonly itemId: Uploads.ItemId }
  | { readonly kind: "commit"; readonly itemId: Uploads.ItemId }
  | { readonly kind: "parts"; readonly itemId: Uploads.ItemId }
  | { readonly kind: "delete"; readonly itemId: Uploads.ItemId }

/**
 * The admin user and role resources under `admin/security`.
 *
 * @category models
 */
export const securityOperations = [
  "users",
  "users/add",
  "users/remove",
  "users/update",
  "roles",
  "roles/add",
  "roles/remove"
] as const

/** An admin user or role resource. @category models */
export type SecurityOperation = (typeof securityOperations)[number]

/**
 * Every path a token is generated at: the URLs `rest/info` advertises (`tokens`, `tokens/`, `tokens/generateToken`),
 * the Server Administrator's and the Enterprise Directory's. Kept apart so a path builds back as it was asked.
 *
 * @category models
 */
export const tokenEndpoints = [
  "tokens",
  "tokens/",
  "tokens/generateToken",
  "admin/generateToken",
  "sharing/rest/generateToken"
] as const

/** A token endpoint. @category models */
export type TokenEndpoint = (typeof tokenEndpoints)[number]

/** Which API an HTML sign-in or sign-out page belongs to. @category models */
export type Api = "rest" | "admin"

/**
 * What an admin service location addresses: the service's settings and status, its start and stop operations, or
 * its job statistics.
 *
 * @category models
 */
export const adminServiceOperations = ["service", "start", "stop", "statistics"] as const

/** An admin service resource or operation. @category models */
export type AdminServiceOperation = (typeof adminServiceOperations)[number]

/**
 * An ArcGIS location. `Job` without a `task` is the service-level form `…/GPServer/jobs/<id>` (the seed's `url`).
 * `OutputFile.serviceName` is the service segment as the path spells it (GeoJobs writes the name lowercased, see
 * {@link outputFileOf}); a server checks it against the job's service with {@link isOutputOf}.
 *
 * @category models
 */
export type ArcGISResource =
  | { readonly _tag: "Info" }
  | { readonly _tag: "Catalog" }
  | { readonly _tag: "Folder"; readonly folder: string }
  | { readonly _tag: "Service"; readonly service: ServicePath }
  | { readonly _tag: "Task"; readonly service: ServicePath; readonly task: string }
  | { readonly _tag: "SubmitJob"; readonly service: ServicePath; readonly task: string }
  | { readonly _tag: "Execute"; readonly service: ServicePath; readonly task: string }
  | {
      readonly _tag: "Job"
      readonly service: ServicePath
      readonly task?: string | undefined
      readonly jobId: JobId.JobId
      readonly part: JobPart
    }
  | {
      readonly _tag: "OutputFile"
      readonly serviceName: string
      readonly jobId: JobId.JobId
      /** The file's path below the job's `scratch` folder, one name per segment (at least one). */
      readonly file: ReadonlyArray<string>
    }
  | { readonly _tag: "AdminJobs"; readonly service: ServicePath; readonly operation: AdminJobsOperation }
  /** `…/GPServer/uploads[/…]`: a service's uploaded items (a task named `uploads` keeps its submitJob, execute, jobs). */
  | { readonly _tag: "Uploads"; readonly service: ServicePath; readonly operation: UploadsOperation }
  | {
      readonly _tag: "AdminJob"
      readonly service: ServicePath
      readonly jobId: JobId.JobId
      readonly part: AdminJobPart
    }
  | { readonly _tag: "Security"; readonly operation: SecurityOperation }
  | { readonly _tag: "Token"; readonly endpoint: TokenEndpoint }
  | { readonly _tag: "SignIn"; readonly api: Api }
  | { readonly _tag: "SignOut"; readonly api: Api }
  /** A portal's `sharing/rest/info` (under the portal's URL), where a federated server's clients find its token service. */
  | { readonly _tag: "PortalInfo" }
  /** The Administrator API directory's root, `admin` (`admin/` read leniently). */
  | { readonly _tag: "AdminRoot" }
  /** `admin/services`: the root folder's services and the folders. */
  | { readonly _tag: "AdminServices" }
  /**
   * `admin/services/<folder>`. A folder whose name ends in `.GPServer` reads as a service there (ArcGIS's URLs cannot
   * tell them apart); its services are still listed and reachable.
   */
  | { readonly _tag: "AdminFolder"; readonly folder: string }
  /** `admin/services/[<folder>/]<Name>.GPServer[/start|/stop|/statistics]`. */
  | { readonly _tag: "AdminService"; readonly service: ServicePath; readonly operation: AdminServiceOperation }
  /** `admin/security`: the users and roles. */
  | { readonly _tag: "AdminSecurity" }
  /** `admin/machines`: the nodes sharing the store (ArcGIS's machines of a site), their heartbeats and running jobs. */
  | { readonly _tag: "AdminMachines" }
  /** `admin/uploads`: every uploaded item of every service, for administrators. */
  | { readonly _tag: "AdminUploads" }
  /**
   * The seed page's own sample request, `rest/services/[<folder>/]<Name>.GPServer/jobs/<id>` (the admin job under the
   * REST root, with the admin spelling of the service), answered with the seed document as the admin job is.
   */
  | { readonly _tag: "SeedJob"; readonly service: ServicePath; readonly jobId: JobId.JobId }

/**
 * Why a path is not a location: a malformed part (400) or no location at all (404).
 *
 * @category errors
 */
export type ParseError = InvalidReference | NoSuchResource

/**
 * How strictly {@link parse} reads names. `strict` (the default) takes only the spelling {@link build} writes, so
 * `build(parse(p)) === p`; `lenient` also takes any other valid percent-encoding of a name (`%28` for `(`, raw
 * non-ASCII letters) and one trailing slash, as HTTP clients send them.
 *
 * @category models
 */
export interface ParseOptions {
  readonly spelling?: "strict" | "lenient" | undefined
}

// ---------------------------------------------------------------------------------------------------------------
// constructors

/**
 * The REST job resource of a job: task level when the task is known, else the service-level form.
 *
 * @category constructors
 */
export const jobOf = (
  service: ServicePath,
  task: string | undefined,
  jobId: JobId.JobId,
  part: JobPart = { kind: "job" }
): ArcGISResource =>
  task === undefined
    ? { _tag: "Job", service: pathOf(service), jobId, part }
    : { _tag: "Job", service: pathOf(service), task, jobId, part }

/**
 * The admin job resource (the seed endpoint) or its cancel or delete operation.
 *
 * @category constructors
 */
export const adminJobOf = (
  service: ServicePath,
  jobId: JobId.JobId,
  part: AdminJobPart = { kind: "job" }
): ArcGISResource => ({ _tag: "AdminJob", service: pathOf(service), jobId, part })

/**
 * A service's upload resource (`…/GPServer/uploads`, its info, an item or an item's operation).
 *
 * @category constructors
 */
export const uploadsOf = (service: ServicePath, operation: UploadsOperation = { kind: "list" }): ArcGISResource => ({
  _tag: "Uploads",
  service: pathOf(service),
  operation
})

/**
 * The URL path of one of a job's output files (`file` as the tool wrote it, `/`-separated below `scratch`); the
 * service segment is the service's name lowercased, as ArcGIS Server spells it.
 *
 * @category constructors
 */
export const outputFileOf = (service: ServicePath, jobId: JobId.JobId, file: string): ArcGISResource => ({
  _tag: "OutputFile",
  serviceName: service.name.toLowerCase(),
  jobId,
  file: file.split("/")
})

/**
 * Whether an output-file location names this service (its service segment is the service's name, in any case).
 *
 * @category guards
 */
export const isOutputOf = (resource: ArcGISResource, service: ServicePath): boolean =>
  resource._tag === "OutputFile" && resource.serviceName.toLowerCase() === service.name.toLowerCase()

// Only folder and name: a full ServiceRef (type, serviceId) would not survive a round trip through a path.
const pathOf = (service: ServicePath): ServicePath =>
  service.folder === undefined ? { name: service.name } : { folder: service.folder, name: service.name }

// ---------------------------------------------------------------------------------------------------------------
// build

const enc = encodeURIComponent
const servicePrefix = (service: ServicePath): string =>
  service.folder === undefined ? enc(service.name) : `${enc(service.folder)}/${enc(service.name)}`
const restService = (service: ServicePath): string => `rest/services/${servicePrefix(service)}/GPServer`
const restTask = (service: ServicePath, task: string): string => `${restService(service)}/${enc(task)}`
const adminJobs = (service: ServicePath): string => `admin/services/${servicePrefix(service)}.GPServer/jobs`
const adminService = (service: ServicePath): string => `admin/services/${servicePrefix(service)}.GPServer`

const jobPartSuffix = (part: JobPart): string =>
  part.kind === "job"
    ? ""
    : (part.kind === "results" || part.kind === "inputs") && part.param !== undefined
      ? `/${part.kind}/${enc(part.param)}`
      : `/${part.kind}`

const uploadsSuffix = (operation: UploadsOperation): string =>
  operation.kind === "list"
    ? ""
    : operation.kind === "info" || operation.kind === "upload" || operation.kind === "register"
      ? `/${operation.kind}`
      : operation.kind === "item"
        ? `/${operation.itemId}`
        : `/${operation.itemId}/${operation.kind}`

/**
 * The path of a location, relative to the server's context path (no leading slash): `rest/services/A/GPServer`.
 *
 * @category constructors
 */
export const build = (resource: ArcGISResource): string => {
  switch (resource._tag) {
    case "Info":
      return "rest/info"
    case "Catalog":
      return "rest/services"
    case "Folder":
      return `rest/services/${enc(resource.folder)}`
    case "Service":
      return restService(resource.service)
    case "Task":
      return restTask(resource.service, resource.task)
    case "SubmitJob":
      return `${restTask(resource.service, resource.task)}/submitJob`
    case "Execute":
      return `${restTask(resource.service, resource.task)}/execute`
    case "Job": {
      const root =
        resource.task === undefined ? restService(resource.service) : restTask(resource.service, resource.task)
      return `${root}/jobs/${resource.jobId}${jobPartSuffix(resource.part)}`
    }
    case "OutputFile":
      return `rest/directories/arcgisjobs/${enc(resource.serviceName)}_gpserver/${resource.jobId}/scratch/${resource.file.map(enc).join("/")}`
    case "Uploads":
      return `${restService(resource.service)}/uploads${uploadsSuffix(resource.operation)}`
    case "AdminJobs":
      return resource.operation === "list"
        ? adminJobs(resource.service)
        : `${adminJobs(resource.service)}/${resource.operation}`
    case "AdminJob":
      return `${adminJobs(resource.service)}/${resource.jobId}${resource.part.kind === "job" ? "" : `/${resource.part.kind}`}`
    case "Security":
      return `admin/security/${resource.operation}`
    case "Token":
      return resource.endpoint
    case "SignIn":
      return `${resource.api}/login`
    case "SignOut":
      return `${resource.api}/logout`
    case "PortalInfo":
      return "sharing/rest/info"
    case "AdminRoot":
      return "admin"
    case "AdminServices":
      return "admin/services"
    case "AdminFolder":
      return `admin/services/${enc(resource.folder)}`
    case "AdminService":
      return resource.operation === "service"
        ? adminService(resource.service)
        : `${adminService(resource.service)}/${resource.operation}`
    case "AdminSecurity":
      return "admin/security"
    case "AdminMachines":
      return "admin/machines"
    case "AdminUploads":
      return "admin/uploads"
    case "SeedJob":
      return `rest/services/${servicePrefix(resource.service)}.GPServer/jobs/${resource.jobId}`
  }
}

const trimBase = (baseUrl: string): string => baseUrl.replace(/\/+$/, "")

/**
 * The full URL of a location under a server's URL with its context path (`https://host/arcgis`; a trailing slash is
 * ignored).
 *
 * @category constructors
 */
export const url = (baseUrl: string, resource: ArcGISResource): string => `${trimBase(baseUrl)}/${build(resource)}`

// ---------------------------------------------------------------------------------------------------------------
// parse

const invalid = (part: ReferencePart, value: string, reason: string) =>
  Effect.fail(new InvalidReference({ part, value, reason }))
const nowhere = (path: string, reason: string) => Effect.fail(new NoSuchResource({ path, reason }))

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/

// A file below a job's scratch folder: any name that cannot leave it.
const fileProblem = (name: string): string | undefined => {
  if (name.length === 0) return "it is empty"
  if (name === "." || name === "..") return "it is a relative path segment"
  if (name.includes("/") || name.includes("\\")) return "it contains a slash"
  if (controlCharacters.test(name)) return "it contains a control character"
  return undefined
}

interface Reader {
  readonly lenient: boolean
  readonly path: string
}

// One name segment: decoded, checked, and (strictly) spelt exactly as build spells it.
const readName = (reader: Reader, part: ReferencePart, raw: string): Effect.Effect<string, InvalidReference> => {
  let text: string
  try {
    text = decodeURIComponent(raw)
  } catch {
    return invalid(part, raw, "it is not valid percent-encoding")
  }
  const checked =
    part === "file"
      ? Effect.suspend(() => {
          const problem = fileProblem(text)
          return problem === undefined ? Effect.succeed(text) : invalid(part, text, problem)
        })
      : ServiceRef.checkName(part, text)
  return Effect.flatMap(checked, (name) =>
    reader.lenient || enc(name) === raw
      ? Effect.succeed(name)
      : invalid(part, raw, `it is not spelt as GeoJobs spells it (${enc(name)})`)
  )
}

const readJobId = (raw: string): Effect.Effect<JobId.JobId, InvalidReference> =>
  JobId.isJobId(raw) ? Effect.succeed(raw) : invalid("jobId", raw, "a job id is j followed by 32 lowercase hex digits")

const readJobPart = (reader: Reader, rest: ReadonlyArray<string>): Effect.Effect<JobPart, ParseError> => {
  const [head, param, ...extra] = rest
  if (head === undefined) return Effect.succeed({ kind: "job" })
  if (head === "cancel" && param === undefined) return Effect.succeed({ kind: "cancel" })
  if ((head === "results" || head === "inputs") && extra.length === 0) {
    return param === undefined
      ? Effect.succeed({ kind: head })
      : Effect.map(readName(reader, "param", param), (p) => ({ kind: head, param: p }))
  }
  return nowhere(reader.path, "a job's resources are cancel, results[/<param>] and inputs[/<param>]")
}

const readAdminJobPart = (reader: Reader, rest: ReadonlyArray<string>): Effect.Effect<AdminJobPart, ParseError> => {
  const [head, ...extra] = rest
  if (head === undefined) return Effect.succeed({ kind: "job" })
  if ((head === "cancel" || head === "delete" || head === "callbacks") && extra.length === 0) {
    return Effect.succeed({ kind: head })
  }
  return nowhere(reader.path, "an admin job's resource is callbacks and its operations are cancel and delete")
}

const readService = (
  reader: Reader,
  folder: string | undefined,
  name: string
): Effect.Effect<ServicePath, InvalidReference> =>
  folder === undefined
    ? Effect.map(readName(reader, "service", name), (n) => ({ name: n }))
    : Effect.flatMap(readName(reader, "folder", folder), (f) =>
        Effect.map(readName(reader, "service", name), (n) => ({ folder: f, name: n }))
      )

const uploadsWords = new Set(["info", "upload", "register"])
const itemOperations = new Set(["uploadPart", "commit", "parts", "delete"])

// The upload resources below `uploads`, or undefined when the rest names none (then `uploads` is a task's name).
const readUploads = (rest: ReadonlyArray<string>): UploadsOperation | undefined => {
  const [first, second, ...extra] = rest
  if (first === undefined) return { kind: "list" }
  if (extra.length > 0) return undefined
  if (second === undefined && uploadsWords.has(first)) return { kind: first as "info" | "upload" | "register" }
  if (!Uploads.isItemId(first)) return undefined
  if (second === undefined) return { kind: "item", itemId: first }
  return itemOperations.has(second)
    ? { kind: second as "uploadPart" | "commit" | "parts" | "delete", itemId: first }
    : undefined
}

// Words that follow a task named `jobs` (`GPServer/jobs/submitJob`); no job id can be one of them.
const afterTask = new Set(["jobs", "submitJob", "execute"])

// Generators defined once (`fnUntraced`), not `Effect.gen` per call: a generator function created per request makes
// V8 carry what it reaches through scavenges (BENCHMARKS.md, http 2026-11-29: 17–25 ms pauses against 1.3 ms).
const readRestServices = Effect.fnUntraced(function* (reader: Reader, s: ReadonlyArray<string>) {
  if (s.length === 0) return { _tag: "Catalog" } as const
  // A service name can never be `GPServer` (ServiceRef reserves it), so its position tells a folder apart.
  const at = s[1] === "GPServer" ? 1 : s[2] === "GPServer" ? 2 : -1
  if (at < 0) {
    if (s.length === 1) return { _tag: "Folder", folder: yield* readName(reader, "folder", s[0] ?? "") } as const
    const seed = yield* readSeedJob(reader, s)
    if (seed !== undefined) return seed
    return yield* nowhere(reader.path, "a service is rest/services/[<folder>/]<Name>/GPServer")
  }
  const service = yield* readService(reader, at === 2 ? s[0] : undefined, s[at - 1] ?? "")
  const below = s.slice(at + 1)
  const [first, second] = below
  if (first === undefined) return { _tag: "Service", service } as const
  if (first === "uploads") {
    const operation = readUploads(below.slice(1))
    if (operation !== undefined) return { _tag: "Uploads", service, operation } as const
  }
  // `jobs/<id>` is the service-level job; a task may itself be named `jobs` (then a keyword, never an id, follows).
  if (first === "jobs" && second !== undefined && !afterTask.has(second)) {
    const jobId = yield* readJobId(second)
    const part = yield* readJobPart(reader, below.slice(2))
    return { _tag: "Job", service, jobId, part } as const
  }
  const task = yield* readName(reader, "task", first)
  const third = below[2]
  if (second === undefined) return { _tag: "Task", service, task } as const
  if (second === "submitJob" && third === undefined) return { _tag: "SubmitJob", service, task } as const
  if (second === "execute" && third === undefined) return { _tag: "Execute", service, task } as const
  if (second === "jobs" && third !== undefined) {
    const jobId = yield* readJobId(third)
    const part = yield* readJobPart(reader, below.slice(3))
    return { _tag: "Job", service, task, jobId, part } as const
  }
  return yield* nowhere(reader.path, "a task's resources are submitJob, execute and jobs/<id>")
})

// `[<folder>/]<Name>.GPServer/jobs/<id>` below rest/services (the seed's sample request), or undefined.
const readSeedJob = Effect.fnUntraced(function* (reader: Reader, s: ReadonlyArray<string>) {
  const at = s.length === 3 ? 0 : s.length === 4 ? 1 : -1
  const typed = s[at] ?? ""
  if (at < 0 || !typed.endsWith(".GPServer") || s[at + 1] !== "jobs") return undefined
  const service = yield* readService(reader, at === 1 ? s[0] : undefined, typed.slice(0, -".GPServer".length))
  const jobId = yield* readJobId(s[at + 2] ?? "")
  return { _tag: "SeedJob", service, jobId } as const
})

const isAdminServiceOperation = (word: string | undefined): word is Exclude<AdminServiceOperation, "service"> =>
  word === "start" || word === "stop" || word === "statistics"

// The admin directory above the jobs: the services listing, a folder, a service and its operations.
const readAdminDirectory = Effect.fnUntraced(function* (reader: Reader, s: ReadonlyArray<string>) {
  if (s.length === 0) return { _tag: "AdminServices" } as const
  const service = (i: number) => (s[i] ?? "").endsWith(".GPServer")
  // A service with nothing or an operation after it, else a folder's service with the same.
  const fits = (i: number) =>
    service(i) && (s.length === i + 1 || (s.length === i + 2 && isAdminServiceOperation(s[i + 1])))
  const at = fits(0) ? 0 : fits(1) ? 1 : -1
  if (at < 0) {
    if (s.length === 1) return { _tag: "AdminFolder", folder: yield* readName(reader, "folder", s[0] ?? "") } as const
    return yield* nowhere(
      reader.path,
      "an admin service is admin/services/[<folder>/]<Name>.GPServer[/start|/stop|/statistics|/jobs…]"
    )
  }
  const path = yield* readService(reader, at === 1 ? s[0] : undefined, (s[at] ?? "").slice(0, -".GPServer".length))
  const operation = s[at + 1]
  return {
    _tag: "AdminService",
    service: path,
    operation: isAdminServiceOperation(operation) ? operation : "service"
  } as const
})

const readAdminServices = Effect.fnUntraced(function* (reader: Reader, s: ReadonlyArray<string>) {
  const typed = (i: number) => s[i + 1] === "jobs" && (s[i] ?? "").endsWith(".GPServer")
  const at = typed(0) ? 0 : typed(1) ? 1 : -1
  if (at < 0) return yield* readAdminDirectory(reader, s)
  const service = yield* readService(reader, at === 1 ? s[0] : undefined, (s[at] ?? "").slice(0, -".GPServer".length))
  const [first, ...rest] = s.slice(at + 2)
  if (first === undefined) return { _tag: "AdminJobs", service, operation: "list" } as const
  if ((first === "query" || first === "statistics" || first === "purgeQueue") && rest.length === 0) {
    return { _tag: "AdminJobs", service, operation: first } as const
  }
  const jobId = yield* readJobId(first)
  const part = yield* readAdminJobPart(reader, rest)
  return { _tag: "AdminJob", service, jobId, part } as const
})

const readOutputFile = Effect.fnUntraced(function* (reader: Reader, s: ReadonlyArray<string>) {
  const [folder = "", id = "", scratch, ...file] = s
  if (!folder.endsWith("_gpserver") || scratch !== "scratch" || file.length === 0) {
    return yield* nowhere(
      reader.path,
      "an output file is rest/directories/arcgisjobs/<name>_gpserver/<jobId>/scratch/<file>"
    )
  }
  const serviceName = yield* readName(reader, "service", folder.slice(0, -"_gpserver".length))
  const jobId = yield* readJobId(id)
  const names = yield* Effect.forEach(file, (segment) => readName(reader, "file", segment))
  return { _tag: "OutputFile", serviceName, jobId, file: names } as const
})

const fixed: ReadonlyMap<string, ArcGISResource> = new Map<string, ArcGISResource>([
  ["rest/info", { _tag: "Info" }],
  ["rest/login", { _tag: "SignIn", api: "rest" }],
  ["rest/logout", { _tag: "SignOut", api: "rest" }],
  ["admin/login", { _tag: "SignIn", api: "admin" }],
  ["admin/logout", { _tag: "SignOut", api: "admin" }],
  ["admin", { _tag: "AdminRoot" }],
  ["admin/security", { _tag: "AdminSecurity" }],
  ["admin/machines", { _tag: "AdminMachines" }],
  ["admin/uploads", { _tag: "AdminUploads" }],
  ["sharing/rest/info", { _tag: "PortalInfo" }],
  ...tokenEndpoints.map((endpoint): [string, ArcGISResource] => [endpoint, { _tag: "Token", endpoint }]),
  ...securityOperations.map((operation): [string, ArcGISResource] => [
    `admin/security/${operation}`,
    { _tag: "Security", operation }
  ])
])

/**
 * Reads a path relative to the context path (no leading slash, no query string): the exact inverse of {@link build}
 * (with `spelling: "lenient"`, see {@link ParseOptions}).
 *
 * @category constructors
 */
export const parse = (path: string, options: ParseOptions = {}): Effect.Effect<ArcGISResource, ParseError> =>
  Effect.suspend(() => {
    const lenient = options.spelling === "lenient"
    // `tokens/` is an endpoint of its own; anywhere else a lenient reader takes one trailing slash as none.
    const trimmed = lenient && path !== "tokens/" && path.endsWith("/") ? path.slice(0, -1) : path
    const known = fixed.get(trimmed)
    if (known !== undefined) return Effect.succeed(known)
    const reader: Reader = { lenient, path }
    const [api, area, ...rest] = trimmed.split("/")
    if (api === "rest" && area === "services") return readRestServices(reader, rest)
    if (api === "rest" && area === "directories" && rest[0] === "arcgisjobs")
      return readOutputFile(reader, rest.slice(1))
    if (api === "admin" && area === "services") return readAdminServices(reader, rest)
    return nowhere(path, "it is no ArcGIS location")
  })

/**
 * Reads a request's raw URL path (as an HTTP server sees it: `/arcgis/rest/services/A/GPServer?f=json`) under the
 * server's context path (`/arcgis`, or `""` at the root), leniently (see {@link ParseOptions}); the query string
 * and fragment are ignored. What the server calls on every request.
 *
 * @category constructors
 */
export const parseRequest = (contextPath: string, rawUrl: string): Effect.Effect<ArcGISResource, ParseError> => {
  const path = rawUrl.replace(/[?#].*$/s, "")
  const prefix = `${contextPath.replace(/\/+$/, "")}/`
  if (!path.startsWith(prefix)) return nowhere(path, `it is not under ${prefix}`)
  return parse(path.slice(prefix.length), { spelling: "lenient" })
}

const basePattern = /^https?:\/\/[^/?#]+(\/[^?#]*)?$/

/**
 * Reads a full URL under a server's URL with its context path (a query string or fragment is ignored): the inverse
 * of {@link url}. A URL under another base fails with an `InvalidReference` of part `baseUrl`.
 *
 * @category constructors
 */
export const parseUrl = (
  baseUrl: string,
  fullUrl: string,
  options: ParseOptions = {}
): Effect.Effect<ArcGISResource, ParseError> => {
  const base = trimBase(baseUrl)
  if (!basePattern.test(base)) return invalid("baseUrl", baseUrl, "expected http(s)://host[/context]")
  const path = fullUrl.replace(/[?#].*$/s, "")
  if (!path.startsWith(`${base}/`)) return invalid("baseUrl", fullUrl, `the URL is not under ${base}`)
  return parse(path.slice(base.length + 1), options)
}

/**
 * The server URL (with its context path) of a URL that addresses a service, task or job of the services directory or
 * the admin API (`https://host/arcgis/rest/services/…` → `https://host/arcgis`), or `undefined`.
 *
 * @category accessors
 */
export const baseOf = (fullUrl: string): string | undefined =>
  /^(https?:\/\/.+?)\/(?:rest|admin)\/services(?:[/?#]|$)/.exec(fullUrl)?.[1]
