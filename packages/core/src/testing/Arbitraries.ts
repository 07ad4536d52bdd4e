/**
 * fast-check arbitraries for the job model: names (with spaces, non-ASCII letters and the words that could confuse
 * a URL parser), service references, job ids, job locations, status paths through the table, and whole jobs.
 *
 * @module
 */
import * as fc from "fast-check"
import type { Job, JobValue, MessageLevel } from "../Job.ts"
import * as JobStatus from "../JobStatus.ts"
import type { JobLocation, Resource } from "../JobUrls.ts"
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
  "rest"
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

const restResource: fc.Arbitrary<Resource> = fc.oneof(
  fc.constant({ kind: "job" as const }),
  fc.constant({ kind: "cancel" as const }),
  fc
    .constantFrom("results" as const, "inputs" as const)
    .chain((kind) =>
      fc.option(name, { nil: undefined }).map((param) => (param === undefined ? { kind } : { kind, param }))
    )
)

const adminResource: fc.Arbitrary<Resource> = fc.constantFrom(
  { kind: "job" as const },
  { kind: "cancel" as const },
  { kind: "delete" as const }
)

/**
 * A job location in any of the three URL families (admin, REST task level, REST service level).
 *
 * @category arbitraries
 */
export const jobLocation: fc.Arbitrary<JobLocation> = fc
  .record({
    service: serviceRef.map((s) => (s.folder === undefined ? { name: s.name } : { folder: s.folder, name: s.name })),
    jobId,
    task: fc.option(name, { nil: undefined })
  })
  .chain(({ service, jobId, task }) =>
    fc.oneof(
      adminResource.map((resource): JobLocation => ({ api: "admin", service, jobId, resource })),
      restResource.map(
        (resource): JobLocation =>
          task === undefined
            ? { api: "rest", service, jobId, resource }
            : { api: "rest", service, task, jobId, resource }
      )
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
