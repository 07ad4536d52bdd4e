/**
 * All of GeoJobs' storage on one data folder, the embedded default: the job store and queue in `jobs.sqlite`, users,
 * roles and tokens in `security.sqlite` (two files, so that a busy job queue never holds up a sign-in).
 *
 * @module
 */
import { join } from "node:path"
import type { JobError, JobQueue, JobStore, SecurityStore } from "@geojobs/core"
import { Layer } from "effect"
import * as SqliteJobStore from "./SqliteJobStore.ts"
import * as SqliteSecurityStore from "./SqliteSecurityStore.ts"

/**
 * Every storage port GeoJobs has.
 *
 * @category models
 */
export type Storage = JobStore.JobStore | JobQueue.JobQueue | SecurityStore.SecurityStore

/**
 * The storage layer on `dataDir`.
 *
 * @category layers
 */
export const layer = (options: {
  readonly dataDir: string
  readonly synchronous?: "normal" | "full" | undefined
}): Layer.Layer<Storage, JobError.JobStoreError | SecurityStore.SecurityStoreError> =>
  Layer.mergeAll(
    SqliteJobStore.layer({ filename: join(options.dataDir, "jobs.sqlite"), synchronous: options.synchronous }),
    SqliteSecurityStore.layer({ filename: join(options.dataDir, "security.sqlite"), synchronous: options.synchronous })
  )
