/**
 * The OGC API – Processes 1.0 resource grammar: every location under a server's OGC root (`https://host/ogcapi`) —
 * landing page, `conformance`, `api`, `processes`, `processes/{id}`, `processes/{id}/execution`, `jobs`,
 * `jobs/{id}`, `jobs/{id}/results` — as one discriminated union, with {@link build} and {@link parse} exact inverses.
 * Servers read request paths with {@link parseRequest}; clients build URLs with {@link url} and read them back with
 * {@link parseUrl}. The sibling of `ArcGISResource` for the OGC dialect, over the same services, tasks and jobs.
 *
 * **Process ids.** Every task of every service is a process. Its id is the folder (when the service has one), the
 * service name and the task name, each written with {@link encodeSegment} and joined by `.`:
 * `Analysis.Geometry.Buffer`, `System.SyncTools.Echo`, `Private.Echo` (no folder). In a segment, ASCII letters,
 * digits, `_` and `-` stand for themselves; every other character (`.`, `~`, a space, any non-ASCII letter) is `~`
 * and two uppercase hex digits per UTF-8 byte (`My Tools` → `My~20Tools`, `v1.2` → `v1~2E2`). Ids are therefore
 * URL-safe (no percent-encoding needed), case-sensitive, stable for as long as the names are, and distinct for
 * distinct tasks: two segments name a service without a folder, three a service in a folder, and since `.` never
 * stands for itself inside a segment no id can be read two ways. {@link processId} and {@link parseProcessId} are
 * exact inverses; a string that is not an id, or names no valid folder, service or task, fails with `NoSuchProcess`
 * (an OGC server answers 404 no-such-process), as a malformed job id fails with `NoSuchJob`.
 *
 * @module
 */
import { Effect } from "effect"
import { NoSuchJob, NoSuchResource } from "./JobError.ts"
import * as JobId from "./JobId.ts"
import { NoSuchProcess } from "./OgcException.ts"
import * as ServiceRef from "./ServiceRef.ts"

/**
 * A process: a task of a service (optional folder and name).
 *
 * @category models
 */
export interface ProcessRef {
  readonly service: ServiceRef.ServicePath
  readonly task: string
}

/**
 * An OGC location.
 *
 * @category models
 */
export type OgcResource =
  | { readonly _tag: "Landing" }
  | { readonly _tag: "Conformance" }
  /** The API definition: the OpenAPI 3.0 document (JSON), or its readable page (HTML). */
  | { readonly _tag: "Api" }
  | { readonly _tag: "Processes" }
  | { readonly _tag: "Process"; readonly process: ProcessRef }
  | { readonly _tag: "Execution"; readonly process: ProcessRef }
  | { readonly _tag: "Jobs" }
  | { readonly _tag: "Job"; readonly jobId: JobId.JobId }
  | { readonly _tag: "Results"; readonly jobId: JobId.JobId }

/**
 * Why a path is not a location: no location at all, a process id that names no process, a malformed job id.
 *
 * @category errors
 */
export type ParseError = NoSuchResource | NoSuchProcess | NoSuchJob

/**
 * How strictly {@link parse} reads: `strict` (the default) takes only what {@link build} writes; `lenient` also takes
 * one trailing slash and percent-encoded characters (`%7E` for `~`), as HTTP clients send them.
 *
 * @category models
 */
export interface ParseOptions {
  readonly spelling?: "strict" | "lenient" | undefined
}

// ---------------------------------------------------------------------------------------------------------------
// process ids

const plain = /^[A-Za-z0-9_-]$/
const hex = (byte: number) => byte.toString(16).toUpperCase().padStart(2, "0")

/**
 * The `~XX` bytes of one character's UTF-8 encoding. `encodeURIComponent` knows UTF-8 in every runtime (core uses no
 * runtime's own encoder); it leaves `!'()*.~` as they are, which are ASCII, and refuses a lone surrogate, which
 * becomes U+FFFD as any UTF-8 encoder would make it.
 */
const bytesOf = (char: string): string => {
  let encoded: string
  try {
    encoded = encodeURIComponent(char)
  } catch {
    encoded = encodeURIComponent("\uFFFD")
  }
  return encoded.startsWith("%") ? encoded.replaceAll("%", "~") : `~${hex(char.charCodeAt(0))}`
}

/**
 * One name as a process id segment (see the module's header).
 *
 * @category constructors
 */
export const encodeSegment = (name: string): string => {
  let out = ""
  for (const char of name) out += plain.test(char) ? char : bytesOf(char)
  return out
}

const segmentPattern = /^(?:[A-Za-z0-9_-]|~[0-9A-F]{2})+$/

/**
 * Reads one process id segment back into its name, or `undefined` when it is not a segment {@link encodeSegment}
 * writes.
 *
 * @category constructors
 */
export const decodeSegment = (segment: string): string | undefined => {
  if (!segmentPattern.test(segment)) return undefined
  let text: string
  try {
    // Plain characters hold no `%`: every `~XX` is a byte, and invalid UTF-8 is refused.
    text = decodeURIComponent(segment.replaceAll("~", "%"))
  } catch {
    return undefined
  }
  // Only the one spelling: `~41` for `A` would be a second id of the same task.
  return encodeSegment(text) === segment ? text : undefined
}

/**
 * The process id of a task of a service: `[<folder>.]<service>.<task>`.
 *
 * @category constructors
 */
export const processId = (process: ProcessRef): string =>
  [...(process.service.folder === undefined ? [] : [process.service.folder]), process.service.name, process.task]
    .map(encodeSegment)
    .join(".")

/**
 * Reads a process id: the exact inverse of {@link processId}.
 *
 * @category constructors
 */
export const parseProcessId = (id: string): Effect.Effect<ProcessRef, NoSuchProcess> =>
  Effect.suspend(() => {
    const names = id.split(".").map(decodeSegment)
    const fail = Effect.fail(new NoSuchProcess({ processId: id }))
    if (names.length < 2 || names.length > 3 || names.some((n) => n === undefined)) return fail
    const [a, b, c] = names as Array<string>
    const [folder, name, task] = names.length === 3 ? [a, b, c] : [undefined, a, b]
    if (name === undefined || task === undefined) return fail
    const bad =
      (folder !== undefined && ServiceRef.nameProblem(folder) !== undefined) ||
      ServiceRef.nameProblem(name) !== undefined ||
      name.toLowerCase() === "gpserver" ||
      ServiceRef.nameProblem(task) !== undefined
    if (bad) return fail
    return Effect.succeed({ service: folder === undefined ? { name } : { folder, name }, task })
  })

// ---------------------------------------------------------------------------------------------------------------
// build

/**
 * The path of a location relative to the OGC root (no leading slash; `""` for the landing page).
 *
 * @category constructors
 */
export const build = (resource: OgcResource): string => {
  switch (resource._tag) {
    case "Landing":
      return ""
    case "Conformance":
      return "conformance"
    case "Api":
      return "api"
    case "Processes":
      return "processes"
    case "Process":
      return `processes/${processId(resource.process)}`
    case "Execution":
      return `processes/${processId(resource.process)}/execution`
    case "Jobs":
      return "jobs"
    case "Job":
      return `jobs/${resource.jobId}`
    case "Results":
      return `jobs/${resource.jobId}/results`
  }
}

const trimBase = (baseUrl: string): string => baseUrl.replace(/\/+$/, "")

/**
 * The full URL of a location under the OGC root URL (`https://host/ogcapi`; a trailing slash is ignored). The landing
 * page is the root with a trailing slash: `https://host/ogcapi/`.
 *
 * @category constructors
 */
export const url = (rootUrl: string, resource: OgcResource): string => `${trimBase(rootUrl)}/${build(resource)}`

// ---------------------------------------------------------------------------------------------------------------
// parse

const fixed: ReadonlyMap<string, OgcResource> = new Map<string, OgcResource>([
  ["", { _tag: "Landing" }],
  ["conformance", { _tag: "Conformance" }],
  ["api", { _tag: "Api" }],
  ["processes", { _tag: "Processes" }],
  ["jobs", { _tag: "Jobs" }]
])

const nowhere = (path: string) =>
  Effect.fail(
    new NoSuchResource({
      path,
      reason:
        "the OGC resources are conformance, api, processes, processes/<id>, processes/<id>/execution, jobs, jobs/<id> and jobs/<id>/results"
    })
  )

const readJobId = (raw: string): Effect.Effect<JobId.JobId, NoSuchJob> =>
  JobId.isJobId(raw) ? Effect.succeed(raw) : Effect.fail(new NoSuchJob({ jobId: raw }))

const lenientSegment = (raw: string): string => {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/**
 * Reads a path relative to the OGC root (no leading slash, no query string): the exact inverse of {@link build}
 * (with `spelling: "lenient"`, see {@link ParseOptions}).
 *
 * @category constructors
 */
export const parse = (path: string, options: ParseOptions = {}): Effect.Effect<OgcResource, ParseError> =>
  Effect.suspend((): Effect.Effect<OgcResource, ParseError> => {
    const lenient = options.spelling === "lenient"
    const trimmed = lenient && path.endsWith("/") ? path.slice(0, -1) : path
    const known = fixed.get(trimmed)
    if (known !== undefined) return Effect.succeed(known)
    const segments = trimmed.split("/").map((s) => (lenient ? lenientSegment(s) : s))
    const [area, id, part, ...extra] = segments
    if (id === undefined || id === "" || extra.length > 0) return nowhere(path)
    if (area === "processes" && (part === undefined || part === "execution")) {
      return Effect.map(
        parseProcessId(id),
        (process): OgcResource => (part === undefined ? { _tag: "Process", process } : { _tag: "Execution", process })
      )
    }
    if (area === "jobs" && (part === undefined || part === "results")) {
      return Effect.map(
        readJobId(id),
        (jobId): OgcResource => (part === undefined ? { _tag: "Job", jobId } : { _tag: "Results", jobId })
      )
    }
    return nowhere(path)
  })

/**
 * Reads a request's raw URL path (`/ogcapi/jobs/j…?f=json`) under the OGC root path (`/ogcapi`), leniently; the
 * query string and fragment are ignored. `/ogcapi` and `/ogcapi/` are both the landing page.
 *
 * @category constructors
 */
export const parseRequest = (rootPath: string, rawUrl: string): Effect.Effect<OgcResource, ParseError> => {
  const path = rawUrl.replace(/[?#].*$/s, "")
  const root = rootPath.replace(/\/+$/, "")
  if (path === root) return Effect.succeed({ _tag: "Landing" })
  if (!path.startsWith(`${root}/`)) return nowhere(path)
  return parse(path.slice(root.length + 1), { spelling: "lenient" })
}

/**
 * Reads a full URL under the OGC root URL: the inverse of {@link url}. A URL under another root is no location.
 *
 * @category constructors
 */
export const parseUrl = (
  rootUrl: string,
  fullUrl: string,
  options: ParseOptions = {}
): Effect.Effect<OgcResource, ParseError> => {
  const root = trimBase(rootUrl)
  const path = fullUrl.replace(/[?#].*$/s, "")
  if (!path.startsWith(`${root}/`)) return nowhere(fullUrl)
  return parse(path.slice(root.length + 1), options)
}

/**
 * Whether a location is about one job (its status or its results).
 *
 * @category guards
 */
export const isJobResource = (resource: OgcResource): resource is Extract<OgcResource, { jobId: JobId.JobId }> =>
  resource._tag === "Job" || resource._tag === "Results"
