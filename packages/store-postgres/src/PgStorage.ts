/**
 * All of GeoJobs' storage on one PostgreSQL database, for several nodes sharing it: the job store and queue, and
 * users, roles and tokens, in one schema. Each store has a pool of its own, so that a busy job queue never holds up
 * a sign-in (as SQLite keeps them in two files). Queue signals (`PgNotifications`: LISTEN/NOTIFY on one dedicated
 * connection per node) wake every node's engine when a job is queued, and stop a cancelled job's tool wherever it runs.
 *
 * @module
 */
import type { CallbackOutbox, JobError, JobQueue, JobStore, SecurityStore } from "@geojobs/core"
import { Layer } from "effect"
import * as PgJobStore from "./PgJobStore.ts"
import * as PgNotifications from "./PgNotifications.ts"
import * as PgSecurityStore from "./PgSecurityStore.ts"

/**
 * Every storage port GeoJobs has.
 *
 * @category models
 */
export type Storage =
  | JobStore.JobStore
  | JobQueue.JobQueue
  | JobQueue.QueueSignals
  | SecurityStore.SecurityStore
  | CallbackOutbox.CallbackOutbox

/**
 * The storage layer on one database and schema (`max` is the size of each of the two pools; the signals add one
 * listening connection).
 *
 * @category layers
 */
export const layer = (
  options: PgNotifications.Options
): Layer.Layer<Storage, JobError.JobStoreError | SecurityStore.SecurityStoreError> =>
  Layer.mergeAll(
    // The signals' triggers are on the job store's table: its migrations first.
    PgNotifications.layer(options).pipe(Layer.provideMerge(PgJobStore.layer(options))),
    PgSecurityStore.layer(options)
  )
