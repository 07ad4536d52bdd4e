/**
 * The job: one run of a geoprocessing task, as every API (GP REST, admin, OGC) sees it. This module owns the `Job`
 * record, its constructor and the pure changes the engine makes to it (status transitions with their instants,
 * messages, progress, results, expiry). The store, not these functions, advances `revision`.
 *
 * @module
 */
import { Clock, Effect, Result } from "effect"
import { z } from "zod"
import * as Callback from "./Callback.ts"
import type { Entropy } from "./Entropy.ts"
import { type InvalidReference, InvalidTransition } from "./JobError.ts"
import * as JobId from "./JobId.ts"
import * as JobStatus from "./JobStatus.ts"
import * as ServiceRef from "./ServiceRef.ts"

/**
 * A parameter value as submitted or produced: its GP data type and its JSON value.
 *
 * @category models
 */
export interface JobValue {
  readonly dataType: string
  readonly value: unknown
}

/**
 * Message levels, as tools report them.
 *
 * @category models
 */
export const messageLevels = ["informative", "warning", "error"] as const

/** @category models */
export type MessageLevel = (typeof messageLevels)[number]

/**
 * One message of a job's log.
 *
 * @category models
 */
export interface JobMessage {
  readonly level: MessageLevel
  readonly description: string
  /** Milliseconds since the epoch. */
  readonly time: number
}

/**
 * Progress as the GP REST API shows it while a job executes: `default` (a message only) or `step` (with an integer
 * percentage, 0–100).
 *
 * @category models
 */
export type Progress =
  | { readonly type: "default"; readonly message: string }
  | { readonly type: "step"; readonly message: string; readonly percent: number }

/**
 * A job. Instants are milliseconds since the epoch, `null` until reached.
 *
 * @category models
 */
export interface Job {
  readonly id: JobId.JobId
  readonly service: ServiceRef.ServiceRef
  readonly task: string
  readonly status: JobStatus.JobStatus
  /** Who submitted it; `null` for an anonymous submission. */
  readonly user: string | null
  readonly created: number
  readonly started: number | null
  readonly ended: number | null
  /** Grows by one on every stored change; updates are guarded by it. */
  readonly revision: number
  readonly inputs: Readonly<Record<string, JobValue>>
  readonly results: Readonly<Record<string, JobValue>>
  readonly messages: ReadonlyArray<JobMessage>
  readonly progress: Progress | null
  /** When the job and its files may be removed; `null` while it is not finished. */
  readonly expires: number | null
  /**
   * Where its OGC callbacks go (an asynchronous OGC execute request's `subscriber`); absent for most jobs. Fixed when
   * the job is created, like its inputs.
   */
  readonly subscriber?: Callback.Subscriber | undefined
}

/**
 * A job without its parameter values: what listings, status polls and the admin documents show. Inputs and results can
 * be megabytes each (a feature set of a few thousand polygons); a store answers a summary without reading them, so a
 * poll or a page of the admin query never decodes a job body (issue 10: a 3 MB input re-read on every poll and
 * claim held the event loop for seconds under load).
 *
 * @category models
 */
export interface JobSummary extends Omit<Job, "inputs" | "results"> {
  /** The names of the inputs, in the order they were given. */
  readonly inputNames: ReadonlyArray<string>
  /** The names of the results recorded so far. */
  readonly resultNames: ReadonlyArray<string>
}

/**
 * The summary of a job (see {@link JobSummary}).
 *
 * @category constructors
 */
export const summarize = (job: Job): JobSummary => {
  const { inputs, results, ...rest } = job
  return { ...rest, inputNames: Object.keys(inputs), resultNames: Object.keys(results) }
}

const valueSchema = z.object({ dataType: z.string(), value: z.unknown() })
const instant = z.number().int().nonnegative()

/**
 * zod schema of a stored job (the persistence format of every store adapter).
 *
 * @category models
 */
export const schema: z.ZodType<Job> = z.object({
  id: JobId.schema,
  service: ServiceRef.schema,
  task: z.string().refine((s) => ServiceRef.nameProblem(s) === undefined, "invalid task name"),
  status: JobStatus.schema,
  user: z.string().nullable(),
  created: instant,
  started: instant.nullable(),
  ended: instant.nullable(),
  revision: z.number().int().positive(),
  inputs: z.record(z.string(), valueSchema),
  results: z.record(z.string(), valueSchema),
  messages: z.array(z.object({ level: z.enum(messageLevels), description: z.string(), time: instant })),
  progress: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("default"), message: z.string() }),
      z.object({ type: z.literal("step"), message: z.string(), percent: z.number().int().min(0).max(100) })
    ])
    .nullable(),
  expires: instant.nullable(),
  subscriber: Callback.schema.optional()
})

/**
 * A new job with a fresh id, created now. It starts Submitted (accepted and queued) unless `status: "New"` asks for
 * a job still being assembled.
 *
 * @category constructors
 */
export const make = (options: {
  readonly service: ServiceRef.ServiceRef
  readonly task: string
  readonly user: string | null
  readonly inputs?: Readonly<Record<string, JobValue>> | undefined
  readonly status?: "New" | "Submitted" | undefined
  readonly subscriber?: Callback.Subscriber | undefined
}): Effect.Effect<Job, InvalidReference, Entropy> =>
  Effect.gen(function* () {
    const task = yield* ServiceRef.checkName("task", options.task)
    const id = yield* JobId.make
    const created = yield* Clock.currentTimeMillis
    return {
      id,
      service: options.service,
      task,
      status: options.status ?? "Submitted",
      user: options.user,
      created,
      started: null,
      ended: null,
      revision: 1,
      inputs: options.inputs ?? {},
      results: {},
      messages: [],
      progress: null,
      expires: null,
      // Only when there is one: a job without a subscriber has no such key at all (as it is stored and read back).
      ...(options.subscriber === undefined ? {} : { subscriber: options.subscriber })
    }
  })

/**
 * Moves a job to another status at instant `now`, if the status table allows it. Entering Executing records `started`;
 * entering a terminal status records `ended` and clears progress; going back to the queue clears both. The pure form,
 * for code that already holds the time (store adapters inside a transaction).
 *
 * @category combinators
 */
export const transitionAt = (job: Job, to: JobStatus.JobStatus, now: number): Result.Result<Job, InvalidTransition> => {
  if (!JobStatus.canTransition(job.status, to)) {
    return Result.fail(new InvalidTransition({ jobId: job.id, from: job.status, to }))
  }
  // Never before its submission: a claimer's time may be read before jobs submitted during its wait for a lock (or
  // on another machine's clock).
  if (to === "Executing")
    return Result.succeed({ ...job, status: to, started: Math.max(now, job.created), ended: null })
  if (JobStatus.isTerminal(to)) return Result.succeed({ ...job, status: to, ended: now, progress: null })
  if (JobStatus.isQueued(to)) return Result.succeed({ ...job, status: to, started: null, progress: null })
  return Result.succeed({ ...job, status: to })
}

/**
 * Moves a job to another status now (see {@link transitionAt}).
 *
 * @category combinators
 */
export const transition = (job: Job, to: JobStatus.JobStatus): Effect.Effect<Job, InvalidTransition> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const moved = transitionAt(job, to, now)
    return Result.isSuccess(moved) ? Effect.succeed(moved.success) : Effect.fail(moved.failure)
  })

/**
 * Appends a message stamped `now`.
 *
 * @category combinators
 */
export const addMessageAt = (job: Job, level: MessageLevel, description: string, now: number): Job => ({
  ...job,
  messages: [...job.messages, { level, description, time: now }]
})

/**
 * Appends a message, stamped now.
 *
 * @category combinators
 */
export const addMessage = (job: Job, level: MessageLevel, description: string): Effect.Effect<Job> =>
  Effect.map(Clock.currentTimeMillis, (time) => addMessageAt(job, level, description, time))

/**
 * Sets progress: a percentage (clamped to an integer 0–100) makes it a `step`, none a `default`.
 *
 * @category combinators
 */
export const setProgress = (job: Job, percent: number | undefined, message: string): Job => ({
  ...job,
  progress:
    percent === undefined || !Number.isFinite(percent)
      ? { type: "default", message }
      : { type: "step", message, percent: Math.min(100, Math.max(0, Math.round(percent))) }
})

/**
 * Records the task's outputs.
 *
 * @category combinators
 */
export const setResults = (job: Job, results: Readonly<Record<string, JobValue>>): Job => ({ ...job, results })

/**
 * Sets when a finished job may be removed: `retentionMs` after it ended.
 *
 * @category combinators
 */
export const expireAfter = (job: Job, retentionMs: number): Job => ({
  ...job,
  expires: job.ended === null ? null : job.ended + retentionMs
})
