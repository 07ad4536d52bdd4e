/**
 * The outbox of the memory job store (`JobStore.layerMemory`): its rows live beside the store's jobs, written by the
 * store's update, and `CallbackOutbox.layerMemory` reads them. Internal: shared by those two modules only.
 *
 * @module
 */
import { Effect } from "effect"
import type * as Callback from "../Callback.ts"
import type { CallbackOutboxShape, Delivery } from "../CallbackOutbox.ts"

interface Row extends Delivery {
  readonly leaseOwner: string | null
  readonly leaseUntil: number
}

/** A memory store's outbox: rows by id, in the order they were written. */
export type Rows = Map<string, Row>

/** A memory store's outbox and how to tell whether a job is still stored. */
export interface State {
  readonly rows: Rows
  readonly jobExists: (jobId: string) => boolean
}

const outboxes = new WeakMap<object, State>()

/** Registers a memory store's outbox (the store calls this when it is made). */
export const register = (store: object, jobExists: (jobId: string) => boolean): Rows => {
  const rows: Rows = new Map()
  outboxes.set(store, { rows, jobExists })
  return rows
}

/** The outbox of a store: its own if it is a memory store, else an empty one nothing writes. */
export const of = (store: object): State => outboxes.get(store) ?? { rows: new Map(), jobExists: () => true }

/** Writes a callback unless the job already has one for its event. */
export const record = (rows: Rows, outgoing: Callback.Outgoing | undefined, now: number): void => {
  if (outgoing === undefined) return
  const id = `${outgoing.jobId}:${outgoing.event}`
  if (rows.has(id)) return
  rows.set(id, {
    id,
    ...outgoing,
    status: "pending",
    attempts: 0,
    lastError: null,
    created: now,
    nextAttempt: now,
    delivered: null,
    leaseOwner: null,
    leaseUntil: 0
  })
}

/** Forgets a removed job's finished callbacks (pending ones are still delivered). */
export const forgetJob = (rows: Rows, jobId: string): void => {
  for (const [id, row] of rows) if (row.jobId === jobId && row.status !== "pending") rows.delete(id)
}

const publicOf = ({ leaseOwner: _o, leaseUntil: _u, ...delivery }: Row): Delivery => delivery

/** The outbox operations over a memory store's rows. */
export const make = ({ rows, jobExists }: State): CallbackOutboxShape => {
  const finish = (row: Row) => {
    // A finished callback of a job removed meanwhile is kept by nothing.
    if (row.status !== "pending" && !jobExists(row.jobId)) rows.delete(row.id)
    else rows.set(row.id, row)
  }
  return {
    claimDue: (request) =>
      Effect.sync(() => {
        const due = [...rows.values()]
          .filter((r) => r.status === "pending" && r.nextAttempt <= request.now && r.leaseUntil <= request.now)
          .sort((a, b) => a.nextAttempt - b.nextAttempt)
          .slice(0, Math.max(0, request.max))
        return due.map((r) => {
          const claimed: Row = { ...r, leaseOwner: request.owner, leaseUntil: request.now + request.leaseMs }
          rows.set(r.id, claimed)
          return publicOf(claimed)
        })
      }),
    markDelivered: (id, at) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || row.status !== "pending") return
        finish({
          ...row,
          status: "delivered",
          attempts: row.attempts + 1,
          lastError: null,
          delivered: at.now,
          leaseOwner: null,
          leaseUntil: 0
        })
      }),
    markFailed: (id, failure) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || row.status !== "pending" || row.leaseOwner !== failure.owner) return
        finish({
          ...row,
          status: failure.nextAttempt === null ? "failed" : "pending",
          attempts: row.attempts + (failure.attempted ? 1 : 0),
          lastError: failure.error,
          nextAttempt: failure.nextAttempt ?? row.nextAttempt,
          leaseOwner: null,
          leaseUntil: 0
        })
      }),
    ofJob: (jobId) => Effect.sync(() => [...rows.values()].filter((r) => r.jobId === jobId).map(publicOf))
  }
}
