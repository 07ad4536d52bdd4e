/**
 * All of GeoJobs' storage on one PostgreSQL database, for several nodes sharing it: the job store and queue, and
 * users, roles and tokens, in one schema. Each store has a pool of its own, so that a busy job queue never holds up
 * a sign-in (as SQLite keeps them in two files).
 *
 * @module
 */
import type { JobError, JobQueue, JobStore, SecurityStore } from "@geojobs/core"
import { Layer } from "effect"
import type * as PgDatabase from "./PgDatabase.ts"
import * as PgJobStore from "./PgJobStore.ts"
import * as PgSecurityStore from "./PgSecurityStore.ts"

/**
 * Every storage port GeoJobs has.
 *
 * @category models
 */
export type Storage = JobStore.JobStore | JobQueue.JobQueue | SecurityStore.SecurityStore

/**
 * The storage layer on one database and schema (`max` is the size of each of the two pools).
 *
 * @category layers
 */
export const layer = (
  options: PgDatabase.Options
): Layer.Layer<Storage, JobError.JobStoreError | SecurityStore.SecurityStoreError> =>
  Layer.mergeAll(PgJobStore.layer(options), PgSecurityStore.layer(options))
