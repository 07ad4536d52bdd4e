/**
 * The outbox port: the callbacks (`Callback.Outgoing`) a job store wrote in the same transaction as the status changes
 * that made them, and what a deliverer does with them — claim the due ones for a while (a lease: with several nodes a
 * callback is tried by one node at a time), record a delivery, or record a failed attempt with when to try again (or
 * that it is given up). Because rows are written by the store's own update, a server that stops between a change and
 * its delivery loses nothing: the next one to start delivers it. Delivery is at least once (a node that dies after
 * POSTing and before recording it leaves the row to be tried again when its lease runs out); receivers can tell a
 * repeat by the delivery's id. `@geojobs/core/testing` holds the contract suite each adapter passes unchanged.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"
import { z } from "zod"
import type * as Callback from "./Callback.ts"
import * as MemoryOutbox from "./internal/MemoryOutbox.ts"
import type { JobStoreError } from "./JobError.ts"
import { JobStore } from "./JobStore.ts"

/**
 * Where a callback is: waiting for (another) attempt, delivered (the receiver answered 2xx), or failed for good (given
 * up after the last attempt, or refused before any: a target that is not allowed).
 *
 * @category models
 */
export const statuses = ["pending", "delivered", "failed"] as const

/** @category models */
export type DeliveryStatus = (typeof statuses)[number]

/**
 * One callback of a job and how its delivery went. Instants are milliseconds since the epoch.
 *
 * @category models
 */
export interface Delivery {
  /** `<jobId>:<event>`: a job has at most one callback per event. */
  readonly id: string
  readonly jobId: string
  readonly event: Callback.Event
  readonly uri: string
  readonly body: string
  readonly status: DeliveryStatus
  /** Requests sent so far (a target refused before any request counts none). */
  readonly attempts: number
  readonly lastError: string | null
  readonly created: number
  /** When it is due (again); meaningful while pending. */
  readonly nextAttempt: number
  readonly delivered: number | null
}

/** The id of a job's callback for an event. @category constructors */
export const idOf = (jobId: string, event: Callback.Event): string => `${jobId}:${event}`

/**
 * The job and event of a callback's id (`<jobId>:<event>`), as the stores key their rows.
 *
 * @category destructors
 */
export const keyOf = (id: string): { readonly job: string; readonly event: string } => {
  const at = id.lastIndexOf(":")
  return { job: id.slice(0, at), event: id.slice(at + 1) }
}

/**
 * A stored callback as the stores' `callbacks` tables hold it (the same columns in SQLite and PostgreSQL).
 *
 * @category models
 */
export interface DeliveryRow {
  readonly job_id: string
  readonly event: Callback.Event
  readonly uri: string
  readonly body: string
  readonly status: DeliveryStatus
  readonly attempts: number
  readonly last_error: string | null
  readonly created: number
  readonly next_attempt: number
  readonly delivered: number | null
}

/** The columns of a {@link DeliveryRow}, for the stores' statements. @category models */
export const deliveryColumns =
  "job_id, event, uri, body, status, attempts, last_error, created, next_attempt, delivered"

/** A callback from its stored row. @category constructors */
export const fromRow = (r: DeliveryRow): Delivery => ({
  id: idOf(r.job_id, r.event),
  jobId: r.job_id,
  event: r.event,
  uri: r.uri,
  body: r.body,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  created: r.created,
  nextAttempt: r.next_attempt,
  delivered: r.delivered
})

/**
 * What a deliverer claims: up to `max` pending callbacks due at `now` that no other claim holds, each then held by
 * `owner` until `now + leaseMs`.
 *
 * @category models
 */
export interface ClaimRequest {
  readonly owner: string
  readonly now: number
  readonly leaseMs: number
  readonly max: number
}

/**
 * A failed attempt (or a refusal): `attempted` says whether a request was sent; `nextAttempt` is when to try again,
 * `null` to give up.
 *
 * @category models
 */
export interface Failure {
  readonly owner: string
  readonly now: number
  readonly error: string
  readonly attempted: boolean
  readonly nextAttempt: number | null
}

/**
 * Outbox operations. The marks act only on a callback the `owner` holds (a deliverer whose lease ran out, and whose
 * row another node claimed, changes nothing), except that a delivery is always recorded.
 *
 * @category services
 */
export interface CallbackOutboxShape {
  /** Claims due pending callbacks, oldest due first (see {@link ClaimRequest}). */
  readonly claimDue: (request: ClaimRequest) => Effect.Effect<ReadonlyArray<Delivery>, JobStoreError>
  /** Records that the receiver took it: delivered at `now`, one attempt more. */
  readonly markDelivered: (
    id: string,
    at: { readonly owner: string; readonly now: number }
  ) => Effect.Effect<void, JobStoreError>
  /** Records a failed attempt or a refusal, and releases the claim (see {@link Failure}). */
  readonly markFailed: (id: string, failure: Failure) => Effect.Effect<void, JobStoreError>
  /** A job's callbacks, in the order they were written. */
  readonly ofJob: (jobId: string) => Effect.Effect<ReadonlyArray<Delivery>, JobStoreError>
}

/**
 * The outbox service.
 *
 * @category services
 */
export class CallbackOutbox extends Context.Service<CallbackOutbox, CallbackOutboxShape>()(
  "@geojobs/core/CallbackOutbox"
) {
  /**
   * The outbox of the memory job store in context (`JobStore.layerMemory`), which writes its callbacks.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<CallbackOutbox, never, JobStore> = Layer.effect(
    CallbackOutbox,
    Effect.gen(function* () {
      return MemoryOutbox.make(MemoryOutbox.of(yield* JobStore))
    })
  )
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000))

/**
 * zod schema of the admin document of a job's callbacks (`…/admin/services/<service>.GPServer/jobs/<id>/callbacks`):
 * times in seconds since the epoch, as in the admin job document; `next_attempt` only while pending.
 *
 * @category models
 */
export const adminSchema = z
  .object({
    job_id: z.string(),
    callbacks: z.array(
      z
        .object({
          event: z.enum(["inProgress", "success", "failed"]),
          uri: z.string(),
          status: z.enum(statuses),
          attempts: z.number().int().nonnegative(),
          last_error: z.string().nullable(),
          created: z.number().int(),
          next_attempt: z.number().int().nullable(),
          delivered: z.number().int().nullable()
        })
        .strict()
    )
  })
  .strict()

/** @category models */
export type AdminCallbacks = z.output<typeof adminSchema>

/**
 * The admin document of a job's callbacks.
 *
 * @category constructors
 */
export const toAdmin = (jobId: string, deliveries: ReadonlyArray<Delivery>): AdminCallbacks => ({
  job_id: jobId,
  callbacks: deliveries.map((d) => ({
    event: d.event,
    uri: d.uri,
    status: d.status,
    attempts: d.attempts,
    last_error: d.lastError,
    created: Math.floor(d.created / 1000),
    next_attempt: d.status === "pending" ? seconds(d.nextAttempt) : null,
    delivered: seconds(d.delivered)
  }))
})
