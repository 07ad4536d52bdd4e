/**
 * The messages between the engine and a tool running in a worker thread. The task payload travels with a
 * `MessagePort`; the worker reports progress and messages on it — and, last, why its thread is ending when it is — and
 * the engine asks for a cooperative stop on it.
 *
 * @module
 */
import type { MessagePort } from "node:worker_threads"
import type { EncodedValue, Job } from "@geojobs/core"

/**
 * What a worker is given to run one job.
 *
 * @category models
 */
export interface WorkerTask {
  readonly jobId: string
  readonly moduleUrl: string
  readonly exportName?: string | undefined
  /** As text: the main thread neither decodes nor clones the values (see core's `EncodedValue`). */
  readonly inputs: EncodedValue.EncodedValues
  /** The job's own folder for output files (`<dataDir>/jobs/<jobId>`). */
  readonly outputDir: string
  /** After the job, a worker whose used heap is above this asks to be retired (`retire`) before it answers. */
  readonly retireAboveHeapMb: number
  readonly port: MessagePort
}

/**
 * What a worker answers: the job's outputs, by parameter name.
 *
 * @category models
 */
export type WorkerResult = EncodedValue.EncodedValues

/**
 * Worker → engine.
 *
 * @category models
 */
export type WorkerEvent =
  | { readonly type: "started" }
  | { readonly type: "progress"; readonly percent?: number | undefined; readonly message: string }
  | { readonly type: "message"; readonly level: Job.MessageLevel; readonly text: string }
  /** The heap is still big after the job: stop giving this thread jobs; it waits for `retired` before answering. */
  | { readonly type: "retire"; readonly threadId: number; readonly heapUsedMb: number }
  /** An exception nobody caught (a throw in a timer, an unhandled rejection) is ending the thread. */
  | { readonly type: "crashed"; readonly text: string }
  /** Something in the thread called `process.exit(code)`. */
  | { readonly type: "exited"; readonly code: number }

/**
 * Engine → worker.
 *
 * @category models
 */
export type EngineCommand = { readonly type: "abort" } | { readonly type: "retired" }
