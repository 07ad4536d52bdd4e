/**
 * fast-check arbitraries for the job model: names (with spaces, non-ASCII letters and the words that could confuse
 * a URL parser), service references, job ids, ArcGIS locations of every kind, status paths through the table, and
 * whole jobs.
 *
 * @module
 */
import * as fc from "fast-check"
import * as ArcGISResource from "../ArcGISResource.ts"
import type { Job, JobValue, MessageLevel } from "../Job.ts"
import * as JobStatus from "../JobStatus.ts"
import * as ServiceRef from "../ServiceRef.ts"

const tricky = [
  "jobs",
  "GPServer",
  "results",
  "inputs",
  "cancel",
  "Buffer Points",
  "Überprüfung",
  "名前",
  "a.b",
  "a.GPServer",
  "100%",
  "x?y#z",
  "..a",
  "Ελληνικά λέξη",
  "rest",
  "login",
  "logout",
  "info",
  "submitJob",
  "execute",
  "scratch",
  "a_gpserver",
  "(x)!*'~"
]

/**
 * Any acceptable folder, task or parameter name.
 *
 * @category arbitraries
 */
export const name: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom(...tricky),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: ServiceRef.maxNameLength })
  )
  .filter((s) => ServiceRef.nameProblem(s) === undefined)

/**
 * Any acceptable service name.
 *
 * @category arbitraries
 */
export const serviceName: fc.Arbitrary<string> = name.filter((s) => s.toLowerCase() !== "gpserver")

/**
 * A service reference, with or without a folder, its id derived.
 *
 * @category arbitraries
 */
export const serviceRef: fc.Arbitrary<ServiceRef.ServiceRef> = fc
  .record({ folder: fc.option(name, { nil: undefined }), name: serviceName })
  .map(({ folder, name }) => {
    const serviceId = ServiceRef.deriveServiceId(folder, name)
    return folder === undefined
      ? { name, type: "GPServer" as const, serviceId }
      : { folder, name, type: "GPServer" as const, serviceId }
  })

/**
 * A well-formed job id.
 *
 * @category arbitraries
 */
export const jobId: fc.Arbitrary<string> = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((bytes) => `j${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`)

/**
 * A service as URLs name it (folder and name only).
 *
 * @category arbitraries
 */
export const servicePath: fc.Arbitrary<ArcGISResource.ServicePath> = serviceRef.map((s) =>
  s.folder === undefined ? { name: s.name } : { folder: s.folder, name: s.name }
)

/**
 * A file name below a job's scratch folder: any name, and the ones only files may have (surrounding spaces, long,
 * dotted).
 *
 * @category arbitraries
 */
export const fileName: fc.Arbitrary<string> = fc.oneof(
  name,
  fc.constantFrom(" leading space", "trailing space ", "x".repeat(200), "...", ".hidden", "a..b", "%41.txt")
)

const jobPart: fc.Arbitrary<ArcGISResource.JobPart> = fc.oneof(
  fc.constant({ kind: "job" as const }),
  fc.constant({ kind: "cancel" as const }),
  fc
    .constantFrom("results" as const, "inputs" as const)
    .chain((kind) =>
      fc.option(name, { nil: undefined }).map((param) => (param === undefined ? { kind } : { kind, param }))
    )
)

const adminJobPart: fc.Arbitrary<ArcGISResource.AdminJobPart> = fc.constantFrom(
  { kind: "job" as const },
  { kind: "callbacks" as const },
  { kind: "cancel" as const },
  { kind: "delete" as const }
)

/**
 * Any ArcGIS location, every kind of {@link ArcGISResource.ArcGISResource} (jobs at task and service level, output
 * files of several segments, admin, security, tokens, sign-in).
 *
 * @category arbitraries
 */
export const resource: fc.Arbitrary<ArcGISResource.ArcGISResource> = fc.oneof(
  fc.constantFrom<ArcGISResource.ArcGISResource>(
    { _tag: "Info" },
    { _tag: "Catalog" },
    { _tag: "PortalInfo" },
    ...ArcGISResource.securityOperations.map((operation) => ({ _tag: "Security" as const, operation })),
    ...ArcGISResource.tokenEndpoints.map((endpoint) => ({ _tag: "Token" as const, endpoint })),
    ...(["rest", "admin"] as const).flatMap((api) => [
      { _tag: "SignIn" as const, api },
      { _tag: "SignOut" as const, api }
    ]),
    { _tag: "AdminRoot" },
    { _tag: "AdminServices" },
    { _tag: "AdminSecurity" }
  ),
  // A folder named `….GPServer` reads as a service in the admin directory (see ArcGISResource's AdminFolder).
  name
    .filter((folder) => !folder.endsWith(".GPServer"))
    .map((folder): ArcGISResource.ArcGISResource => ({ _tag: "AdminFolder", folder })),
  fc
    .record({ service: servicePath, operation: fc.constantFrom(...ArcGISResource.adminServiceOperations) })
    .map(({ service, operation }): ArcGISResource.ArcGISResource => ({ _tag: "AdminService", service, operation })),
  fc
    .record({ service: servicePath, jobId })
    .map(({ service, jobId }): ArcGISResource.ArcGISResource => ({ _tag: "SeedJob", service, jobId })),
  name.map((folder): ArcGISResource.ArcGISResource => ({ _tag: "Folder", folder })),
  servicePath.map((service): ArcGISResource.ArcGISResource => ({ _tag: "Service", service })),
  fc
    .record({
      service: servicePath,
      task: name,
      tag: fc.constantFrom("Task" as const, "SubmitJob" as const, "Execute" as const)
    })
    .map(({ service, task, tag }): ArcGISResource.ArcGISResource => ({ _tag: tag, service, task })),
  fc
    .record({ service: servicePath, task: fc.option(name, { nil: undefined }), jobId, part: jobPart })
    .map(({ service, task, jobId, part }) => ArcGISResource.jobOf(service, task, jobId, part)),
  fc
    .record({ service: servicePath, jobId, part: adminJobPart })
    .map(({ service, jobId, part }) => ArcGISResource.adminJobOf(service, jobId, part)),
  fc
    .record({
      service: servicePath,
      operation: fc.constantFrom<ArcGISResource.AdminJobsOperation>("list", "query", "statistics", "purgeQueue")
    })
    .map(({ service, operation }): ArcGISResource.ArcGISResource => ({ _tag: "AdminJobs", service, operation })),
  fc
    .record({
      service: servicePath,
      itemId: fc.uuid().map((u) => `i${u}`),
      kind: fc.constantFrom("list", "info", "upload", "register", "item", "uploadPart", "commit", "parts", "delete")
    })
    .map(({ service, itemId, kind }) =>
      ArcGISResource.uploadsOf(
        service,
        kind === "list" || kind === "info" || kind === "upload" || kind === "register" ? { kind } : { kind, itemId }
      )
    ),
  fc.record({ serviceName, jobId, file: fc.array(fileName, { minLength: 1, maxLength: 4 }) }).map(
    ({ serviceName, jobId, file }): ArcGISResource.ArcGISResource => ({
      _tag: "OutputFile",
      serviceName,
      jobId,
      file
    })
  )
)

/**
 * A path of legal transitions from New or Submitted, following the table until a terminal status or 12 steps.
 *
 * @category arbitraries
 */
export const statusPath: fc.Arbitrary<ReadonlyArray<JobStatus.JobStatus>> = fc
  .tuple(fc.constantFrom<JobStatus.JobStatus>("New", "Submitted"), fc.array(fc.nat(), { maxLength: 12 }))
  .map(([first, choices]) => {
    const path: Array<JobStatus.JobStatus> = [first]
    for (const choice of choices) {
      const successors = JobStatus.table[path[path.length - 1] ?? first].successors
      const next = successors[choice % Math.max(1, successors.length)]
      if (next === undefined) break
      path.push(next)
    }
    return path
  })

const jsonValue: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)))

const jobValues: fc.Arbitrary<Record<string, JobValue>> = fc.dictionary(
  name,
  fc.record({
    dataType: fc.constantFrom("GPString", "GPLong", "GPDouble", "GPFeatureRecordSetLayer"),
    value: jsonValue
  }),
  { maxKeys: 4 }
)

const instant = fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 })

/**
 * A job whose fields agree with its status (started once it executed, ended once terminal, progress only while
 * executing).
 *
 * @category arbitraries
 */
export const job: fc.Arbitrary<Job> = fc
  .record({
    id: jobId,
    service: serviceRef,
    task: name,
    status: fc.constantFrom(...JobStatus.all),
    user: fc.option(fc.constantFrom("admin", "serviceAdmin", "analyst", "Jürgen Weiß"), { nil: null }),
    created: instant,
    run: fc.nat({ max: 3_600_000 }),
    wait: fc.nat({ max: 60_000 }),
    revision: fc.integer({ min: 1, max: 2_000_000_000 }),
    inputs: jobValues,
    results: jobValues,
    messages: fc.array(
      fc.record({
        level: fc.constantFrom<MessageLevel>("informative", "warning", "error"),
        description: fc.string({ maxLength: 40 }),
        time: instant
      }),
      { maxLength: 4 }
    ),
    percent: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined })
  })
  .map((r): Job => {
    const terminal = JobStatus.isTerminal(r.status)
    const ran = r.status === "Executing" || r.status === "Cancelling" || r.status === "Succeeded"
    const started = ran ? r.created + r.wait : null
    return {
      id: r.id,
      service: r.service,
      task: r.task,
      status: r.status,
      user: r.user,
      created: r.created,
      started,
      ended: terminal ? (started ?? r.created) + r.run : null,
      revision: r.revision,
      inputs: r.inputs,
      results: r.status === "Succeeded" ? r.results : {},
      messages: r.messages,
      progress:
        r.status !== "Executing"
          ? null
          : r.percent === undefined
            ? { type: "default", message: "Executing..." }
            : { type: "step", message: `${r.percent}% done`, percent: r.percent },
      expires: terminal ? (started ?? r.created) + r.run + 21_600_000 : null
    }
  })
