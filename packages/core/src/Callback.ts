/**
 * OGC API – Processes callbacks (the `callback` conformance class): the `subscriber` of an asynchronous execute
 * request, kept with its job, and the one total table that says which status change sends which callback. A store
 * writes the callbacks a change makes ({@link outgoing}) in the same transaction as the change itself, into its
 * outbox (`CallbackOutbox`), from which the engine delivers them; adapters never decide on a status themselves.
 *
 * Which statuses send what (keyed by core's status table, so adding a status is a compile error until its row here
 * exists):
 * - entering Executing sends `inProgress`, once per job (a job queued again and restarted sends no second one);
 * - Succeeded sends `success`;
 * - Failed and TimedOut (OGC `failed`), and Cancelled and Deleted (OGC `dismissed`: a job cancelled, purged or
 *   dismissed will never have results either, and a subscriber waiting for them must hear so) send `failed` — the
 *   body's `status` tells the two apart. A job sends at most one `failed`.
 *
 * Every body is the job's OGC statusInfo document at the change (with the results link once successful), not the
 * results themselves: results can be megabytes of features, and the receiver reads them, with its own credentials,
 * from the link (pygeoapi posts the outputs to `successUri` and `{}` to the other two; the standard leaves the
 * content open).
 *
 * @module
 */
import { z } from "zod"
import type { Job } from "./Job.ts"
import type * as JobStatus from "./JobStatus.ts"
import * as OgcResource from "./OgcResource.ts"
import * as OgcStatusInfo from "./OgcStatusInfo.ts"

/**
 * The events a subscriber can be called for.
 *
 * @category models
 */
export const events = ["inProgress", "success", "failed"] as const

/** @category models */
export type Event = (typeof events)[number]

/**
 * The callback URIs of a job, as its execute request gave them, and the OGC jobs URL (`…/ogcapi/jobs`, as the
 * submitter addressed the server) the bodies link the job from (`<jobsUrl>/<jobId>`).
 *
 * @category models
 */
export interface Subscriber {
  readonly successUri?: string | undefined
  readonly inProgressUri?: string | undefined
  readonly failedUri?: string | undefined
  readonly jobsUrl: string
}

/**
 * The subscriber's field of each event.
 *
 * @category models
 */
export const uriField: { readonly [E in Event]: "successUri" | "inProgressUri" | "failedUri" } = {
  inProgress: "inProgressUri",
  success: "successUri",
  failed: "failedUri"
}

/**
 * The table: the callback a job sends on entering each status (`null`: none). Total over the statuses.
 *
 * @category models
 */
export const table: { readonly [S in JobStatus.JobStatus]: Event | null } = {
  New: null,
  Submitted: null,
  Waiting: null,
  Executing: "inProgress",
  Succeeded: "success",
  Failed: "failed",
  TimedOut: "failed",
  Cancelling: null,
  Cancelled: "failed",
  Deleting: null,
  Deleted: "failed"
}

/** The callback entering `status` sends, if any. @category combinators */
export const eventOf = (status: JobStatus.JobStatus): Event | null => table[status]

const absoluteUrl = z.url()

/**
 * Why a callback URI is refused at submission, or `undefined`: it must be an absolute http or https URL without a
 * user name or password (where it points is checked again when it is delivered, against the addresses it resolves to).
 *
 * @category guards
 */
export const uriProblem = (text: string): string | undefined => {
  // zod's URL check (WHATWG parsing) rather than the global `URL`: core has no platform types.
  if (!absoluteUrl.safeParse(text).success) return "expected an absolute http or https URL"
  if (!/^https?:\/\//i.test(text)) return "only http and https callback URLs are supported"
  // The authority (after `//`, up to the path, query or fragment) with an `@` carries credentials.
  if ((/^[a-z]+:\/\/([^/?#]*)/i.exec(text)?.[1] ?? "").includes("@")) {
    return "a callback URL cannot carry a user name or password"
  }
  return undefined
}

/**
 * zod schema of a stored subscriber (the persistence format of the stores).
 *
 * @category models
 */
export const schema: z.ZodType<Subscriber> = z.object({
  successUri: z.string().optional(),
  inProgressUri: z.string().optional(),
  failedUri: z.string().optional(),
  jobsUrl: z.string()
})

/**
 * The subscriber of an execute request's `subscriber` (its URIs already checked with {@link uriProblem}), or
 * `undefined` when it names no URI.
 *
 * @category constructors
 */
export const make = (
  uris: {
    readonly successUri?: string | undefined
    readonly inProgressUri?: string | undefined
    readonly failedUri?: string | undefined
  },
  jobsUrl: string
): Subscriber | undefined => {
  const subscriber: { -readonly [K in keyof Subscriber]: Subscriber[K] } = { jobsUrl }
  for (const event of events) {
    const uri = uris[uriField[event]]
    if (uri !== undefined && uri !== "") subscriber[uriField[event]] = uri
  }
  return events.some((e) => subscriber[uriField[e]] !== undefined) ? subscriber : undefined
}

/**
 * A callback to deliver, as a store writes it into its outbox.
 *
 * @category models
 */
export interface Outgoing {
  readonly jobId: string
  readonly event: Event
  readonly uri: string
  /** The JSON text POSTed (the job's statusInfo at the change). */
  readonly body: string
}

/**
 * The body of a callback: the job's OGC statusInfo.
 *
 * @category constructors
 */
export const body = (
  job: Pick<Job, "id" | "service" | "task" | "status" | "messages" | "progress" | "created" | "started" | "ended">,
  subscriber: Subscriber
): string =>
  JSON.stringify(
    OgcStatusInfo.fromJob(job, {
      jobUrl: `${subscriber.jobsUrl.replace(/\/+$/, "")}/${job.id}`,
      processId: OgcResource.processId({ service: job.service, task: job.task })
    })
  )

/**
 * The callback a job as written (after a change into its status) sends, if any: none without a subscriber, or
 * without a URI for the event. A store writes it unless the job already has one for the event (at most one per job
 * and event), in the same transaction as the job.
 *
 * @category constructors
 */
export const outgoing = (
  job: Pick<
    Job,
    "id" | "service" | "task" | "status" | "messages" | "progress" | "created" | "started" | "ended" | "subscriber"
  >
): Outgoing | undefined => {
  const subscriber = job.subscriber
  if (subscriber === undefined) return undefined
  const event = eventOf(job.status)
  if (event === null) return undefined
  const uri = subscriber[uriField[event]]
  if (uri === undefined) return undefined
  return { jobId: job.id, event, uri, body: body(job, subscriber) }
}

/**
 * How deliveries are retried: the delay before retry `n` (1-based) doubles from `initialMs` up to `maxMs`; after
 * `maxAttempts` attempts a callback is given up.
 *
 * @category models
 */
export interface Backoff {
  readonly initialMs: number
  readonly maxMs: number
  readonly maxAttempts: number
}

/** 1 s doubling to 10 min, 12 attempts (about 27 minutes in all). @category models */
export const defaultBackoff: Backoff = { initialMs: 1_000, maxMs: 600_000, maxAttempts: 12 }

/**
 * When to try again after attempt number `attempts` failed at `now`, or `null` to give up.
 *
 * @category combinators
 */
export const nextAttempt = (backoff: Backoff, attempts: number, now: number): number | null =>
  attempts >= backoff.maxAttempts
    ? null
    : now + Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 40)))
