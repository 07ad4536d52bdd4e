/**
 * All of GeoJobs' storage on one data folder, the embedded default: the job store and queue in `jobs.sqlite`, users,
 * roles and tokens in `security.sqlite` (two files, so that a busy job queue never holds up a sign-in). Queue signals
 * are in-process (core's `QueueSignals.layerInProcess`): a submit or cancel in this process wakes its engine at once;
 * other processes sharing the folder find each other's jobs and cancels by polling the file, as before.
 *
 * @module
 */
import { join } from "node:path"
import { CallbackOutbox, type JobError, JobQueue, type JobStore, type SecurityStore } from "@geojobs/core"
import { Effect, Layer } from "effect"
import * as SqliteJobStore from "./SqliteJobStore.ts"
import * as SqliteSecurityStore from "./SqliteSecurityStore.ts"

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
 * The storage layer on `dataDir`.
 *
 * @category layers
 */
export const layer = (options: {
  readonly dataDir: string
  readonly synchronous?: "normal" | "full" | undefined
}): Layer.Layer<Storage, JobError.JobStoreError | SecurityStore.SecurityStoreError> => {
  // One database for both (a layer is built once however often it is provided).
  const jobs = SqliteJobStore.layer({
    filename: join(options.dataDir, "jobs.sqlite"),
    synchronous: options.synchronous
  })
  return Layer.mergeAll(
    JobQueue.QueueSignals.layerInProcess.pipe(Layer.provide(jobs)),
    // The callback outbox, as the job store writes it.
    Layer.effect(CallbackOutbox.CallbackOutbox, Effect.service(CallbackOutbox.CallbackOutbox)).pipe(
      Layer.provide(jobs)
    ),
    SqliteSecurityStore.layer({ filename: join(options.dataDir, "security.sqlite"), synchronous: options.synchronous })
  )
}
