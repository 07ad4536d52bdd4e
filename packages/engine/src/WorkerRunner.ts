/**
 * Runs claimed jobs on a piscina pool of worker threads, one `WorkerTask` each: the tool's progress and messages come
 * back over a MessageChannel and are written at most once per interval, the time limit starts when the worker reports
 * `started` and ends in a terminated worker, a cancel asks the tool to stop and terminates its worker after a grace
 * period, and shutdown interrupts what is left. What the job becomes at the end is `JobLifecycle.finishAt`'s decision.
 *
 * @module
 */
import { MessageChannel } from "node:worker_threads"
import { Job, type JobFiles, JobLifecycle, type JobStore } from "@geojobs/core"
import { Effect, FiberSet, type Scope } from "effect"
import { Piscina } from "piscina"
import type { Completion } from "./Completion.ts"
import { type ServiceRegistry, settingsOf } from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"
import type { EngineCommand, WorkerEvent, WorkerResult, WorkerTask } from "./WorkerProtocol.ts"

/**
 * Runner settings. Durations are milliseconds.
 *
 * @category models
 */
export interface RunnerOptions {
  readonly maxWorkers: number
  readonly jobsPerWorker: number
  readonly cancelGraceMs: number
  /** The worker module (default this package's `ToolWorker`). */
  readonly workerUrl?: string | undefined
}

/**
 * What the runner needs of the rest of the engine.
 *
 * @category models
 */
export interface RunnerDeps {
  readonly store: JobStore.JobStoreShape
  readonly files: JobFiles.JobFilesShape
  readonly registry: ServiceRegistry["Service"]
  readonly completion: Completion
  /** Called when a job has left its worker (a slot is free). */
  readonly freed: () => void
}

/**
 * The runner's operations.
 *
 * @category models
 */
export interface WorkerRunner {
  /** Starts running a claimed (Executing) job; answers once it is on its way. */
  readonly start: (claimed: Job.Job) => Effect.Effect<void>
  /** Jobs executing in this process. */
  readonly size: () => number
  readonly isRunning: (id: string) => boolean
  /** Asks the tool running a job here to stop (no-op when it does not run here). */
  readonly requestCancel: (id: string) => void
  /** Writes buffered progress and messages of every running job, and notices cancels made elsewhere. */
  readonly flushAll: Effect.Effect<void>
  /** Shutdown: terminates every running tool; its job ends as interrupted. Then waits (at most 5 s) for the runs. */
  readonly interruptAll: Effect.Effect<void>
  /** Destroys the pool. */
  readonly destroy: Effect.Effect<void>
}

interface Running {
  job: Job.Job
  readonly progress: { pending: WorkerEvent | undefined; messages: Array<Extract<WorkerEvent, { type: "message" }>> }
  cancel: "none" | "requested"
  timedOut: boolean
  interrupted: boolean
  readonly requestCancel: () => void
  readonly kill: () => void
}

const defaultWorkerUrl = new URL(`./ToolWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

const errorText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message || cause.name
  return typeof cause === "string" ? cause : JSON.stringify(cause)
}

const addMessages = (
  job: Job.Job,
  messages: ReadonlyArray<Extract<WorkerEvent, { type: "message" }>>,
  now: number
): Job.Job => messages.reduce((next, m) => Job.addMessageAt(next, m.level, m.text, now), job)

/**
 * How a run ended, from what the runner saw: a shutdown interrupt without a cancel, any cancel, the time limit, then
 * the tool's own answer.
 */
const outcomeOf = (
  entry: Running,
  settled: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
): JobLifecycle.Outcome => {
  if (entry.interrupted && entry.cancel === "none") return { _tag: "Interrupted" }
  if (entry.cancel === "requested") return { _tag: "Cancelled" }
  if (entry.timedOut) return { _tag: "TimedOut" }
  return settled.ok
    ? { _tag: "Succeeded", results: settled.results }
    : { _tag: "Failed", error: errorText(settled.error) }
}

/**
 * A runner with its pool; the runs are forked in the given scope.
 *
 * @category constructors
 */
export const make = (options: RunnerOptions, deps: RunnerDeps): Effect.Effect<WorkerRunner, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { store, files, registry, completion } = deps
    const pool = new Piscina<WorkerTask, WorkerResult>({
      filename: options.workerUrl ?? defaultWorkerUrl,
      maxThreads: options.maxWorkers,
      minThreads: Math.min(1, options.maxWorkers),
      idleTimeout: 60_000,
      concurrentTasksPerWorker: options.jobsPerWorker
    })
    const running = new Map<string, Running>()
    const runs = yield* FiberSet.make()

    const flush = (entry: Running) =>
      Effect.gen(function* () {
        const { pending, messages } = entry.progress
        const drained = messages.splice(0, messages.length)
        entry.progress.pending = undefined
        const written = yield* StoredJob.modify(
          store,
          entry.job.id,
          (job, now) => {
            if (!JobLifecycle.takesProgress(job)) return undefined
            let next = job
            next = addMessages(next, drained, now)
            if (pending?.type === "progress") next = Job.setProgress(next, pending.percent, pending.message)
            return next === job ? undefined : next
          },
          entry.job
        )
        if (written !== undefined) {
          entry.job = written
          return
        }
        // Nothing written: either nothing to write or the job moved on; look at what is stored.
        const stored = yield* StoredJob.find(store, entry.job.id)
        if (JobLifecycle.mustStop(stored)) entry.requestCancel()
        if (stored !== undefined) entry.job = stored
      }).pipe(Effect.catch(() => Effect.void))

    const finish = (
      entry: Running,
      settled: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
    ) =>
      Effect.gen(function* () {
        const outcome = outcomeOf(entry, settled)
        const settings = settingsOf(registry, entry.job)
        const written = yield* StoredJob.apply(
          store,
          entry.job.id,
          (job, now) => JobLifecycle.finishAt(addMessages(job, entry.progress.messages, now), outcome, settings, now),
          entry.job
        )
        if (written !== undefined && JobLifecycle.isDeleted(written)) yield* StoredJob.remove(store, files, written.id)
        return written
      })

    const run = (claimed: Job.Job) =>
      Effect.gen(function* () {
        const service = registry.find(claimed.service)
        const task = service?.tasks.get(claimed.task)
        if (service === undefined || task === undefined) {
          const { retentionMs } = settingsOf(registry, claimed)
          const gone = yield* StoredJob.apply(store, claimed.id, (job, now) =>
            JobLifecycle.unpublishedAt(job, retentionMs, now)
          )
          if (gone !== undefined) completion.settle(gone)
          return
        }
        const channel = new MessageChannel()
        const hardKill = new AbortController()
        let graceTimer: ReturnType<typeof setTimeout> | undefined
        const entry: Running = {
          job: claimed,
          progress: { pending: undefined, messages: [] },
          cancel: "none",
          timedOut: false,
          interrupted: false,
          requestCancel: () => {
            if (entry.cancel !== "none") return
            entry.cancel = "requested"
            channel.port1.postMessage({ type: "abort" } satisfies EngineCommand)
            graceTimer = setTimeout(() => hardKill.abort(), options.cancelGraceMs)
          },
          kill: () => hardKill.abort()
        }
        let timer: ReturnType<typeof setTimeout> | undefined
        channel.port1.on("message", (event: WorkerEvent) => {
          if (event.type === "started") {
            timer = setTimeout(() => {
              entry.timedOut = true
              hardKill.abort()
            }, service.maxExecutionTimeMs)
          } else if (event.type === "progress") entry.progress.pending = event
          else entry.progress.messages.push(event)
        })
        running.set(claimed.id, entry)
        // The job may have been cancelled between the claim and now.
        entry.progress.messages.push({
          type: "message",
          level: "informative",
          text: JobLifecycle.startMessage(claimed)
        })
        const workerTask: WorkerTask = {
          jobId: claimed.id,
          moduleUrl: task.moduleUrl,
          exportName: task.exportName,
          inputs: claimed.inputs,
          outputDir: files.folder(claimed.id),
          port: channel.port2
        }
        const settled = yield* Effect.promise(() =>
          pool.run(workerTask, { transferList: [channel.port2], signal: hardKill.signal }).then(
            (results) => ({ ok: true as const, results }),
            (error: unknown) => ({ ok: false as const, error })
          )
        )
        if (timer !== undefined) clearTimeout(timer)
        if (graceTimer !== undefined) clearTimeout(graceTimer)
        // Let the last events posted by the worker arrive before the port closes.
        yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        channel.port1.close()
        const written = yield* finish(entry, settled).pipe(
          Effect.catch((error) => Effect.as(Effect.logError("could not record the end of a job", error), undefined))
        )
        running.delete(claimed.id)
        if (written !== undefined) completion.settle(written)
        deps.freed()
      })

    return {
      start: (claimed) => Effect.asVoid(FiberSet.run(runs, run(claimed))),
      size: () => running.size,
      isRunning: (id) => running.has(id),
      requestCancel: (id) => running.get(id)?.requestCancel(),
      flushAll: Effect.suspend(() => Effect.forEach([...running.values()], flush, { discard: true })),
      interruptAll: Effect.gen(function* () {
        for (const entry of running.values()) {
          entry.interrupted = true
          entry.kill()
        }
        yield* FiberSet.awaitEmpty(runs).pipe(Effect.timeout(5000), Effect.ignore)
      }),
      destroy: Effect.promise(() => pool.destroy())
    }
  })
