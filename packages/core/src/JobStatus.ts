/**
 * The job status machine: the 11 esriJobStatus values and one total table that gives each its REST name, admin word,
 * `status_code`, OGC status, terminal flag and allowed successors. Everything else about statuses (which are
 * cancellable, what a REST poller is shown, how a filter word is read) is derived from that table, so adapters never
 * need a `switch` on a status.
 *
 * @module
 */
import { Effect } from "effect"
import { z } from "zod"
import { InvalidTransition } from "./JobError.ts"

/**
 * The statuses, in `status_code` order (the index is the code).
 *
 * @category models
 */
export const all = [
  "New",
  "Submitted",
  "Waiting",
  "Executing",
  "Succeeded",
  "Failed",
  "TimedOut",
  "Cancelling",
  "Cancelled",
  "Deleting",
  "Deleted"
] as const

/**
 * A job status, spelled as the admin API's `status` word (`"Succeeded"`).
 *
 * @category models
 */
export type JobStatus = (typeof all)[number]

/**
 * The esriJobStatus name used by the GP REST API (`"esriJobSucceeded"`).
 *
 * @category models
 */
export type RestName = `esriJob${JobStatus}`

/**
 * The OGC API – Processes 1.0 `statusCode`.
 *
 * @category models
 */
export type OgcStatus = (typeof ogcStatuses)[number]

/**
 * Every OGC `statusCode`, in the standard's order.
 *
 * @category models
 */
export const ogcStatuses = ["accepted", "running", "successful", "failed", "dismissed"] as const

/**
 * Where the admin `statistics` operation counts a job: `failed` holds Failed and TimedOut alike.
 *
 * @category models
 */
export type StatisticsBucket = "succeeded" | "failed" | "cancelled"

/**
 * One row of the status table.
 *
 * @category models
 */
export interface Row {
  readonly code: number
  readonly rest: RestName
  readonly admin: JobStatus
  readonly ogc: OgcStatus
  readonly terminal: boolean
  /** What a REST poller is shown instead; `null` means the job is not shown to pollers at all. */
  readonly pollerView: JobStatus | null
  /** A dispatcher may claim a job in this status and start it. */
  readonly claimable: boolean
  /**
   * A worker of some engine process holds the job: it counts against its service's `maxConcurrentJobs`, and it is
   * orphaned when that process dies (Deleting included: an executing job being deleted runs until its tool stops).
   */
  readonly held: boolean
  /** Where `statistics` counts it; `null` for jobs not finished. */
  readonly statistics: StatisticsBucket | null
  readonly successors: ReadonlyArray<JobStatus>
}

const row = (
  status: JobStatus,
  ogc: OgcStatus,
  successors: ReadonlyArray<JobStatus>,
  options: {
    readonly pollerView?: JobStatus | null
    readonly claimable?: boolean
    readonly held?: boolean
    readonly statistics?: StatisticsBucket
  } = {}
): Row => ({
  code: all.indexOf(status),
  rest: `esriJob${status}`,
  admin: status,
  ogc,
  terminal: successors.length === 0,
  pollerView: options.pollerView === undefined ? status : options.pollerView,
  claimable: options.claimable ?? false,
  held: options.held ?? false,
  statistics: options.statistics ?? null,
  successors
})

/**
 * The table. It is a total `Record`, so adding a status is a compile error until its row exists.
 *
 * Why these successors:
 * - a queued job (Submitted, Waiting) is cancelled at once, an executing one passes through Cancelling;
 * - Executing may go back to Submitted: a retryable tool interrupted by a server restart is queued again;
 * - Failed is reachable before execution (a tool that cannot be loaded) and from Cancelling (a restart mid-cancel);
 * - a finished job is deleted by removing it; Deleting/Deleted describe deleting a job that is still active.
 * REST pollers are never shown New, Deleting or Deleted (arcgis-api.md §10.1): New reads as Submitted, the other two
 * as a missing job.
 *
 * @category models
 */
export const table: { readonly [S in JobStatus]: Row } = {
  New: row("New", "accepted", ["Submitted", "Failed", "Cancelled", "Deleting"], { pollerView: "Submitted" }),
  Submitted: row("Submitted", "accepted", ["Waiting", "Executing", "Failed", "Cancelling", "Cancelled", "Deleting"], {
    claimable: true
  }),
  Waiting: row("Waiting", "accepted", ["Submitted", "Executing", "Failed", "Cancelling", "Cancelled", "Deleting"]),
  Executing: row("Executing", "running", ["Submitted", "Succeeded", "Failed", "TimedOut", "Cancelling", "Deleting"], {
    held: true
  }),
  Succeeded: row("Succeeded", "successful", [], { statistics: "succeeded" }),
  Failed: row("Failed", "failed", [], { statistics: "failed" }),
  TimedOut: row("TimedOut", "failed", [], { statistics: "failed" }),
  Cancelling: row("Cancelling", "dismissed", ["Cancelled", "Failed", "Deleting"], { held: true }),
  Cancelled: row("Cancelled", "dismissed", [], { statistics: "cancelled" }),
  Deleting: row("Deleting", "dismissed", ["Deleted"], { pollerView: null, held: true }),
  Deleted: row("Deleted", "dismissed", [], { pollerView: null })
}

/** The statuses whose row satisfies `f`, in code order: how adapters get a status list (SQL `IN (…)` included). */
export const where = (f: (row: Row) => boolean): ReadonlyArray<JobStatus> => all.filter((s) => f(table[s]))

/** Statuses of finished jobs. @category models */
export const terminal: ReadonlyArray<JobStatus> = where((r) => r.terminal)
/** Statuses of jobs waiting for a worker (OGC `accepted`): what `purgeQueue` cancels. @category models */
export const queued: ReadonlyArray<JobStatus> = where((r) => r.ogc === "accepted")
/** Statuses a dispatcher claims from. @category models */
export const claimable: ReadonlyArray<JobStatus> = where((r) => r.claimable)
/** Statuses of jobs held by a worker (see {@link Row.held}). @category models */
export const held: ReadonlyArray<JobStatus> = where((r) => r.held)
/** The statuses `statistics` counts in a bucket. @category combinators */
export const inBucket = (bucket: StatisticsBucket): ReadonlyArray<JobStatus> => where((r) => r.statistics === bucket)

/**
 * zod schema of a status word.
 *
 * @category models
 */
export const schema = z.enum(all)

/**
 * zod schema of a REST status name.
 *
 * @category models
 */
export const restNameSchema = z.enum(all.map((s) => table[s].rest) as [RestName, ...Array<RestName>])

/** @category guards */
export const isJobStatus = (u: unknown): u is JobStatus => typeof u === "string" && u in table

/** @category guards */
export const isTerminal = (status: JobStatus): boolean => table[status].terminal

/** Whether `to` is an allowed successor of `from`. @category guards */
export const canTransition = (from: JobStatus, to: JobStatus): boolean => table[from].successors.includes(to)

/** The statuses that may move to `status`. @category combinators */
export const predecessors = (status: JobStatus): ReadonlyArray<JobStatus> =>
  all.filter((from) => table[from].successors.includes(status))

/** Whether a cancel request can act on a job in this status (it has a path to Cancelled). @category guards */
export const isCancellable = (status: JobStatus): boolean =>
  canTransition(status, "Cancelled") || canTransition(status, "Cancelling")

/** Whether a cancel ends the job at once (no running tool to stop). @category guards */
export const cancelsAtOnce = (status: JobStatus): boolean => canTransition(status, "Cancelled")

/** Whether a job in this status has results to read (the OGC "successful"). @category guards */
export const hasResults = (status: JobStatus): boolean => table[status].ogc === "successful"

/** Whether the job is queued and waiting for a worker. @category guards */
export const isQueued = (status: JobStatus): boolean => table[status].ogc === "accepted"

/** The `status_code` (0–10). @category combinators */
export const code = (status: JobStatus): number => table[status].code

/** The REST name (`esriJobSucceeded`). @category combinators */
export const restName = (status: JobStatus): RestName => table[status].rest

/** The OGC status. @category combinators */
export const ogcStatus = (status: JobStatus): OgcStatus => table[status].ogc

/**
 * The status an OGC status stands for when only that is known (a client reading statusInfo): the first terminal status
 * of the table with it, else the first with it — `failed` is Failed, `dismissed` Cancelled, `accepted` New.
 *
 * @category constructors
 */
export const fromOgc = (ogc: OgcStatus): JobStatus => {
  const matching = where((r) => r.ogc === ogc)
  return matching.find(isTerminal) ?? (matching[0] as JobStatus)
}

/** What a REST poller is shown, or `null` when the job should read as missing. @category combinators */
export const pollerView = (status: JobStatus): JobStatus | null => table[status].pollerView

/** The status with this code, if any. @category constructors */
export const fromCode = (n: number): JobStatus | undefined => (Number.isInteger(n) ? all[n] : undefined)

/**
 * Reads a status filter word as clients send it: `esriJobSucceeded`, `Succeeded` or `succeeded` (admin query
 * `jobStatus`). Returns `undefined` for anything else.
 *
 * @category constructors
 */
export const parse = (word: string): JobStatus | undefined => {
  const bare = word.trim().replace(/^esriJob/i, "")
  return all.find((s) => s.toLowerCase() === bare.toLowerCase())
}

/**
 * Checks a status change against the table.
 *
 * @category combinators
 */
export const transition = (from: JobStatus, to: JobStatus): Effect.Effect<JobStatus, InvalidTransition> =>
  canTransition(from, to) ? Effect.succeed(to) : Effect.fail(new InvalidTransition({ from, to }))
