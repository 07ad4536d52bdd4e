/**
 * The job engine: accepts jobs, runs them on worker threads, and keeps their stored state true. It owns the
 * dispatcher (per-service `maxConcurrentJobs` under a global worker limit, FIFO within a service, claims atomic in the
 * store), execution (a piscina pool of worker threads, so a CPU-bound tool never stalls the HTTP server), the time
 * limit (`maxExecutionTime`, then the worker is terminated: TimedOut), cancellation (cooperative through the tool's
 * AbortSignal, the worker terminated after a grace period), throttled progress and messages, recovery of jobs orphaned
 * by a dead process, the retention sweeper, and graceful shutdown.
 *
 * @module
 */
import { mkdirSync, rmSync } from "node:fs"
import { availableParallelism, hostname } from "node:os"
import { join } from "node:path"
import { MessageChannel } from "node:worker_threads"
import { Entropy, Job, JobError, JobQueue, JobStatus, JobStore, type JobUrls, ServiceRef } from "@geojobs/core"
import type { GPValue } from "@geojobs/tools"
import { Clock, Context, Deferred, Effect, Fiber, FiberSet, Layer, Queue, Schedule } from "effect"
import { Piscina } from "piscina"
import { EngineStopped, NoSuchService, NoSuchTask } from "./EngineError.ts"
import { type ServiceDefinition, ServiceRegistry, type TaskDefinition } from "./ServiceRegistry.ts"
import type { EngineCommand, WorkerEvent, WorkerResult, WorkerTask } from "./WorkerProtocol.ts"

/**
 * Engine settings. Durations are milliseconds.
 *
 * @category models
 */
export interface EngineOptions {
  /** Output files go to `<dataDir>/jobs/<jobId>/`. */
  readonly dataDir: string
  /** Worker threads (default: the number of cores). */
  readonly maxWorkers?: number | undefined
  /**
   * Jobs one worker thread runs at once (default 1, like one ArcGIS instance per job). More suits tools that mostly
   * wait on I/O; CPU-bound jobs sharing a thread take turns. `maxWorkers × jobsPerWorker` is the global limit of jobs
   * executing in this process.
   */
  readonly jobsPerWorker?: number | undefined
  /** How long a tool that ignores a cancel keeps running before its worker is terminated (default 5000). */
  readonly cancelGraceMs?: number | undefined
  /** At most one progress write per job per this interval (default 250); also how often a running job's stored state is checked. */
  readonly progressIntervalMs?: number | undefined
  /** How often the store is polled for jobs submitted by other processes (default 250). */
  readonly pollIntervalMs?: number | undefined
  /** Heartbeat interval (default 2000). */
  readonly heartbeatMs?: number | undefined
  /** A process whose heartbeat is older than this is dead, and its jobs are recovered (default 15000). */
  readonly leaseMs?: number | undefined
  /** How often expired jobs are removed (default 60000). */
  readonly sweepIntervalMs?: number | undefined
  /** On shutdown, how long running jobs may go on before they are interrupted (default 10000). */
  readonly shutdownGraceMs?: number | undefined
  /** The worker module (default this package's `ToolWorker`). */
  readonly workerUrl?: string | undefined
  /** This process's id in the store (default random). */
  readonly ownerId?: string | undefined
}

/**
 * A job submission: which task, by whom, with the parameters as the client sent them.
 *
 * @category models
 */
export interface Submission {
  readonly service: JobUrls.ServicePath
  readonly task: string
  readonly user: string | null
  readonly params: Readonly<Record<string, unknown>>
}

/**
 * What a submission can fail with.
 *
 * @category errors
 */
export type SubmitError = NoSuchService | NoSuchTask | GPValue.InvalidParameter | EngineStopped | JobError.JobStoreError

/**
 * The engine's operations.
 *
 * @category services
 */
export interface EngineShape {
  /** Validates the inputs, stores the job (acknowledged once committed) and queues it. */
  readonly submit: (submission: Submission) => Effect.Effect<Job.Job, SubmitError>
  /** Submits and waits for the job to end (synchronous services); the job is recorded like any other. */
  readonly execute: (submission: Submission) => Effect.Effect<Job.Job, SubmitError>
  /** Waits until a job is terminal (or gone), polling the store; returns its last state. */
  readonly awaitJob: (id: string) => Effect.Effect<Job.Job, JobError.NoSuchJob | JobError.JobStoreError>
  /** Cancels a job: at once if queued, through Cancelling if executing. */
  readonly cancel: (
    id: string
  ) => Effect.Effect<Job.Job, JobError.NoSuchJob | JobError.InvalidTransition | JobError.JobStoreError>
  /** Removes a job and its files, cancelling it first if it is still active. */
  readonly delete: (id: string) => Effect.Effect<void, JobError.NoSuchJob | JobError.JobStoreError>
  /** Cancels every queued job of a service; answers how many. */
  readonly purgeQueue: (service: JobUrls.ServicePath) => Effect.Effect<number, JobError.JobStoreError>
  /** Recovers jobs orphaned by dead processes now (it also runs at start and on every heartbeat). */
  readonly recover: Effect.Effect<number, JobError.JobStoreError>
  /** Removes expired jobs now (it also runs on the sweep interval); answers how many. */
  readonly sweep: Effect.Effect<number, JobError.JobStoreError>
  /** The folder of a job's output files. */
  readonly outputDir: (id: string) => string
  /** Jobs executing in this process. */
  readonly runningHere: () => number
  /** Calls `listener` with every job this process finishes (for metrics); answers a function that stops the calls. */
  readonly onFinished: (listener: (job: Job.Job) => void) => () => void
}

/**
 * The engine service.
 *
 * @category services
 */
export class Engine extends Context.Service<Engine, EngineShape>()("@geojobs/engine/Engine") {
  /**
   * The engine, started: recovery, dispatcher, heartbeat and sweeper run until the layer is released, which shuts it
   * down gracefully.
   *
   * @category layers
   */
  static readonly layer = (
    options: EngineOptions
  ): Layer.Layer<
    Engine,
    JobError.JobStoreError,
    JobStore.JobStore | JobQueue.JobQueue | ServiceRegistry | Entropy.Entropy
  > => Layer.effect(Engine, make(options))
}

interface Running {
  job: Job.Job
  readonly service: ServiceDefinition
  readonly task: TaskDefinition
  readonly progress: { pending: WorkerEvent | undefined; messages: Array<Extract<WorkerEvent, { type: "message" }>> }
  cancel: "none" | "requested"
  timedOut: boolean
  interrupted: boolean
  readonly requestCancel: () => void
  readonly kill: () => void
}

const defaultWorkerUrl = new URL(`./ToolWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

const stamp = (ms: number): string => new Date(ms).toUTCString()
const elapsed = (job: Job.Job, now: number): string =>
  `(Elapsed Time: ${(((now - (job.started ?? job.created)) | 0) / 1000).toFixed(2)} seconds)`

const errorText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message || cause.name
  return typeof cause === "string" ? cause : JSON.stringify(cause)
}

const make = Effect.fnUntraced(function* (options: EngineOptions) {
  const store = yield* JobStore.JobStore
  const queue = yield* JobQueue.JobQueue
  const registry = yield* ServiceRegistry
  const entropy = yield* Entropy.Entropy
  const maxWorkers = Math.max(1, options.maxWorkers ?? availableParallelism())
  const jobsPerWorker = Math.max(1, options.jobsPerWorker ?? 1)
  const maxJobs = maxWorkers * jobsPerWorker
  const cancelGraceMs = options.cancelGraceMs ?? 5000
  const progressIntervalMs = options.progressIntervalMs ?? 250
  const pollIntervalMs = options.pollIntervalMs ?? 250
  const heartbeatMs = options.heartbeatMs ?? 2000
  const leaseMs = options.leaseMs ?? 15_000
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000
  const owner = {
    id: options.ownerId ?? `e${globalThis.crypto.randomUUID().replaceAll("-", "")}`,
    host: hostname(),
    pid: process.pid
  }
  const jobsDir = join(options.dataDir, "jobs")
  mkdirSync(jobsDir, { recursive: true })
  const outputDir = (id: string) => join(jobsDir, id)

  const pool = new Piscina<WorkerTask, WorkerResult>({
    filename: options.workerUrl ?? defaultWorkerUrl,
    maxThreads: maxWorkers,
    minThreads: Math.min(1, maxWorkers),
    idleTimeout: 60_000,
    concurrentTasksPerWorker: jobsPerWorker
  })
  const running = new Map<string, Running>()
  const finished = new Map<string, Deferred.Deferred<Job.Job>>()
  const wakeups = yield* Queue.sliding<void>(1)
  const wake = (): void => {
    Queue.offerUnsafe(wakeups, undefined)
  }
  let accepting = true

  // Each service's maxConcurrentJobs, as data the store evaluates inside its claim.
  const limits = registry.services.map((s) => ({ service: s.ref, max: s.maxConcurrentJobs }))
  const definitionOf = (job: Job.Job) => {
    const service = registry.find(job.service)
    return { service, task: service?.tasks.get(job.task) }
  }

  /**
   * Applies `change` to the stored job until the revision guard lets it through (another writer — a cancel from
   * another process, say — may move the job between our read and our write). `change` may decline by returning
   * `undefined`. Answers the written job, or `undefined` when declined or the job is gone.
   */
  const modify = (
    id: string,
    change: (job: Job.Job, now: number) => Job.Job | undefined,
    current?: Job.Job
  ): Effect.Effect<Job.Job | undefined, JobError.JobStoreError | JobError.InvalidTransition> =>
    Effect.gen(function* () {
      let job: Job.Job | undefined = current
      for (let attempt = 0; attempt < 50; attempt++) {
        if (job === undefined) {
          job = yield* store.get(id).pipe(
            Effect.map((j): Job.Job | undefined => j),
            Effect.catchTag("NoSuchJob", () => Effect.succeed(undefined))
          )
          if (job === undefined) return undefined
        }
        const next = change(job, yield* Clock.currentTimeMillis)
        if (next === undefined) return undefined
        const written = yield* store.update(job.revision, next).pipe(
          Effect.map((j): Job.Job | undefined => j),
          Effect.catchTags({
            StaleRevision: () => Effect.succeed(undefined),
            NoSuchJob: () => Effect.succeed(undefined)
          })
        )
        if (written !== undefined) return written
        job = undefined
      }
      return yield* new JobError.JobStoreError({ operation: `update ${id}`, cause: "too many concurrent changes" })
    })

  /** The job moved to `to`, or `undefined` when the table does not allow it (the change is then declined). */
  const moved = (job: Job.Job | undefined, to: JobStatus.JobStatus, now: number): Job.Job | undefined => {
    if (job === undefined) return undefined
    const result = Job.transitionAt(job, to, now)
    return result._tag === "Success" ? result.success : undefined
  }
  const expire = (job: Job.Job | undefined, retentionMs: number) =>
    job === undefined ? undefined : Job.expireAfter(job, retentionMs)
  /** `modify` with a status change: declines (answers undefined) when the table does not allow it any more. */
  const moveTo = (
    id: string,
    to: JobStatus.JobStatus,
    also: (job: Job.Job, now: number) => Job.Job = (j) => j,
    current?: Job.Job
  ) =>
    modify(
      id,
      (job, now) => {
        const next = moved(job, to, now)
        return next === undefined ? undefined : also(next, now)
      },
      current
    )

  const removeFiles = (id: string) => Effect.sync(() => rmSync(outputDir(id), { recursive: true, force: true }))
  const removeJob = (id: string) =>
    Effect.andThen(removeFiles(id), store.delete(id).pipe(Effect.catchTag("NoSuchJob", () => Effect.void)))

  const listeners = new Set<(job: Job.Job) => void>()
  const settle = (job: Job.Job) => {
    for (const listener of listeners) {
      try {
        listener(job)
      } catch {
        // A listener's failure is its own; the job is finished either way.
      }
    }
    const waiter = finished.get(job.id)
    if (waiter !== undefined) {
      finished.delete(job.id)
      Deferred.doneUnsafe(waiter, Effect.succeed(job))
    }
  }

  // --- running one job -------------------------------------------------------------------------------------------

  /** Writes buffered progress and messages (at most once per interval) and notices cancels made elsewhere. */
  const flush = (entry: Running) =>
    Effect.gen(function* () {
      const { pending, messages } = entry.progress
      const drained = messages.splice(0, messages.length)
      entry.progress.pending = undefined
      const written = yield* modify(
        entry.job.id,
        (job, now) => {
          if (job.status !== "Executing") return undefined
          let next = job
          for (const m of drained) next = Job.addMessageAt(next, m.level, m.text, now)
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
      const stored = yield* store.get(entry.job.id).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTag("NoSuchJob", () => Effect.succeed(undefined))
      )
      if (stored === undefined || stored.status === "Cancelling" || stored.status === "Deleting") entry.requestCancel()
      if (stored !== undefined) entry.job = stored
    }).pipe(Effect.catch(() => Effect.void))

  const finish = (
    entry: Running,
    outcome: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
  ) =>
    Effect.gen(function* () {
      const retention = entry.service.jobRetentionMs
      const written = yield* modify(
        entry.job.id,
        (job, now) => {
          let next = job
          for (const m of entry.progress.messages) next = Job.addMessageAt(next, m.level, m.text, now)
          if (next.status === "Deleting") return moved(next, "Deleted", now)
          const cancelled = entry.cancel === "requested" || next.status === "Cancelling"
          if (entry.interrupted && !cancelled) {
            const requeue = entry.task.retryable && JobStatus.canTransition(next.status, "Submitted")
            next = Job.addMessageAt(
              next,
              requeue ? "warning" : "error",
              requeue ? "Interrupted by server shutdown; queued again." : "Interrupted by server shutdown.",
              now
            )
            return requeue ? moved(next, "Submitted", now) : expire(moved(next, "Failed", now), retention)
          }
          if (cancelled) {
            const cancelling = next.status === "Executing" ? moved(next, "Cancelling", now) : next
            if (cancelling === undefined) return undefined
            const noted = Job.addMessageAt(
              cancelling,
              "warning",
              `Cancelled at ${stamp(now)} ${elapsed(next, now)}`,
              now
            )
            return expire(moved(noted, "Cancelled", now), retention)
          }
          if (entry.timedOut) {
            const limit = Math.round(entry.service.maxExecutionTimeMs / 1000)
            next = Job.addMessageAt(
              next,
              "error",
              `Job timed out: it ran longer than the service's maximum execution time of ${limit} seconds.`,
              now
            )
            return expire(moved(next, "TimedOut", now), retention)
          }
          if (outcome.ok) {
            next = Job.setResults(next, outcome.results)
            next = Job.addMessageAt(next, "informative", `Succeeded at ${stamp(now)} ${elapsed(next, now)}`, now)
            return expire(moved(next, "Succeeded", now), retention)
          }
          next = Job.addMessageAt(next, "error", errorText(outcome.error), now)
          next = Job.addMessageAt(next, "error", `Failed at ${stamp(now)} ${elapsed(next, now)}`, now)
          return expire(moved(next, "Failed", now), retention)
        },
        entry.job
      )
      if (written?.status === "Deleted") yield* removeJob(written.id)
      return written
    })

  const runJob = (claimed: Job.Job) =>
    Effect.gen(function* () {
      const { service, task } = definitionOf(claimed)
      if (service === undefined || task === undefined) {
        const gone = yield* moveTo(claimed.id, "Failed", (job, now) =>
          Job.expireAfter(
            Job.addMessageAt(job, "error", `Task ${claimed.task} is no longer published by this server.`, now),
            service?.jobRetentionMs ?? 3_600_000
          )
        )
        if (gone !== undefined) settle(gone)
        return
      }
      const dir = outputDir(claimed.id)
      const channel = new MessageChannel()
      const hardKill = new AbortController()
      let graceTimer: ReturnType<typeof setTimeout> | undefined
      const entry: Running = {
        job: claimed,
        service,
        task,
        progress: { pending: undefined, messages: [] },
        cancel: "none",
        timedOut: false,
        interrupted: false,
        requestCancel: () => {
          if (entry.cancel !== "none") return
          entry.cancel = "requested"
          channel.port1.postMessage({ type: "abort" } satisfies EngineCommand)
          graceTimer = setTimeout(() => hardKill.abort(), cancelGraceMs)
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
        text: `Start Time: ${stamp(claimed.started ?? claimed.created)}`
      })
      const task_: WorkerTask = {
        jobId: claimed.id,
        moduleUrl: task.moduleUrl,
        exportName: task.exportName,
        inputs: claimed.inputs,
        outputDir: dir,
        port: channel.port2
      }
      const outcome = yield* Effect.promise(() =>
        pool.run(task_, { transferList: [channel.port2], signal: hardKill.signal }).then(
          (results) => ({ ok: true as const, results }),
          (error: unknown) => ({ ok: false as const, error })
        )
      )
      if (timer !== undefined) clearTimeout(timer)
      if (graceTimer !== undefined) clearTimeout(graceTimer)
      // Let the last events posted by the worker arrive before the port closes.
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      channel.port1.close()
      const written = yield* finish(entry, outcome).pipe(
        Effect.catch((error) => Effect.as(Effect.logError("could not record the end of a job", error), undefined))
      )
      running.delete(claimed.id)
      if (written !== undefined) settle(written)
      wake()
    })

  // --- background fibers ---------------------------------------------------------------------------------------

  const runs = yield* FiberSet.make()
  // One flusher for every running job: progress and messages are written at most once per interval per job.
  const flushAll = Effect.suspend(() => Effect.forEach([...running.values()], flush, { discard: true }))
  const dispatch = Effect.gen(function* () {
    while (true) {
      yield* Effect.raceFirst(Queue.take(wakeups), Effect.sleep(pollIntervalMs))
      if (!accepting) continue
      const free = maxJobs - running.size
      if (free <= 0) continue
      // A claimed job must reach a runner: once the store has moved it to Executing, nothing may interrupt us.
      const claimed = yield* Effect.uninterruptible(
        queue.claim({ owner: owner.id, max: free, limits }).pipe(
          Effect.catch((error) => Effect.as(Effect.logError("claim failed", error), [])),
          Effect.tap((jobs) => Effect.forEach(jobs, (job) => FiberSet.run(runs, runJob(job)), { discard: true }))
        )
      )
      if (claimed.length > 0 && claimed.length === free) wake()
    }
  })

  /** Owners on this host whose process is gone (a crash is seen at once, not after the lease). */
  const deadHere = (owners: ReadonlyArray<JobQueue.Owner>): ReadonlyArray<string> =>
    owners.flatMap((other) => {
      if (other.id === owner.id || other.host !== owner.host) return []
      try {
        process.kill(other.pid, 0)
        return []
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "ESRCH" ? [other.id] : []
      }
    })

  const recover = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const dead = deadHere(yield* queue.owners)
    const orphans = yield* queue.orphans({ self: owner.id, now, leaseMs, dead })
    let count = 0
    for (const { job } of orphans) {
      if (running.has(job.id)) continue
      const { service, task } = definitionOf(job)
      const retention = service?.jobRetentionMs ?? 3_600_000
      let written: Job.Job | undefined
      if (job.status === "Deleting") {
        yield* removeJob(job.id)
        count++
        continue
      }
      if (job.status === "Cancelling") {
        written = yield* moveTo(
          job.id,
          "Cancelled",
          (j, t) =>
            Job.expireAfter(Job.addMessageAt(j, "warning", "Cancelled: interrupted by server restart.", t), retention),
          job
        )
      } else if (task?.retryable === true) {
        written = yield* moveTo(
          job.id,
          "Submitted",
          (j, t) => Job.addMessageAt(j, "warning", "Interrupted by server restart; queued again.", t),
          job
        )
      } else {
        written = yield* moveTo(
          job.id,
          "Failed",
          (j, t) => Job.expireAfter(Job.addMessageAt(j, "error", "interrupted by server restart", t), retention),
          job
        )
      }
      if (written !== undefined) count++
    }
    if (count > 0) wake()
    return count
  }).pipe(Effect.catchTag("InvalidTransition", () => Effect.succeed(0)))

  const sweep = Effect.gen(function* () {
    let count = 0
    while (true) {
      const expired = yield* queue.expired(yield* Clock.currentTimeMillis, 200)
      for (const job of expired) {
        yield* removeJob(job.id)
        count++
      }
      if (expired.length < 200) return count
    }
  })

  const heartbeat = Effect.andThen(
    Effect.flatMap(Clock.currentTimeMillis, (now) => queue.heartbeat(owner, now)),
    recover
  ).pipe(Effect.catch((error) => Effect.logError("heartbeat failed", error)))

  // Start: announce ourselves, recover what dead processes left, then run.
  yield* queue.heartbeat(owner, yield* Clock.currentTimeMillis)
  yield* recover.pipe(Effect.catch((error) => Effect.logError("recovery failed", error)))
  const background = yield* Effect.forkDetach(
    Effect.all(
      [
        dispatch,
        Effect.repeat(flushAll, Schedule.spaced(progressIntervalMs)),
        Effect.repeat(heartbeat, Schedule.spaced(heartbeatMs)),
        Effect.repeat(
          sweep.pipe(Effect.catch((error) => Effect.as(Effect.logError("sweep failed", error), 0))),
          Schedule.spaced(sweepIntervalMs)
        )
      ],
      { concurrency: "unbounded", discard: true }
    )
  )
  wake()

  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      accepting = false
      yield* Fiber.interrupt(background)
      const deadline = Date.now() + shutdownGraceMs
      while (running.size > 0 && Date.now() < deadline) yield* Effect.sleep(50)
      for (const entry of running.values()) {
        entry.interrupted = true
        entry.kill()
      }
      yield* FiberSet.awaitEmpty(runs).pipe(Effect.timeout(5000), Effect.ignore)
      yield* queue.release(owner.id).pipe(Effect.ignore)
      yield* Effect.promise(() => pool.destroy())
    })
  )

  // --- operations ----------------------------------------------------------------------------------------------

  const find = (submission: Submission) => {
    const path = ServiceRef.path(submission.service)
    const service = registry.find(submission.service)
    if (service === undefined) return Effect.fail(new NoSuchService({ service: path }))
    const task = service.tasks.get(submission.task)
    if (task === undefined) return Effect.fail(new NoSuchTask({ service: path, task: submission.task }))
    return Effect.succeed({ service, task })
  }

  const submit = Effect.fn("Engine.submit")(function* (submission: Submission) {
    if (!accepting) return yield* new EngineStopped()
    const { service, task } = yield* find(submission)
    const inputs = yield* task.decodeInputs(submission.params)
    const job = yield* Job.make({ service: service.ref, task: task.name, user: submission.user, inputs }).pipe(
      Effect.catchTag("InvalidReference", (e) => Effect.die(e)),
      Effect.provideService(Entropy.Entropy, entropy)
    )
    const created = yield* store.create(job).pipe(Effect.catchTag("DuplicateJob", (e) => Effect.die(e)))
    wake()
    return created
  })

  const awaitJob = (id: string) =>
    Effect.gen(function* () {
      const waiter = finished.get(id) ?? Deferred.makeUnsafe<Job.Job>()
      finished.set(id, waiter)
      while (true) {
        const job = yield* store.get(id)
        if (JobStatus.isTerminal(job.status)) {
          finished.delete(id)
          return job
        }
        // Wake at once when this process finishes it; poll for jobs finished by others.
        yield* Effect.raceFirst(Deferred.await(waiter), Effect.sleep(pollIntervalMs))
      }
    })

  const cancel = Effect.fn("Engine.cancel")(function* (id: string) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const job = yield* store.get(id)
      if (job.status === "Cancelling") return job
      const target: JobStatus.JobStatus | undefined = JobStatus.cancelsAtOnce(job.status)
        ? "Cancelled"
        : JobStatus.canTransition(job.status, "Cancelling")
          ? "Cancelling"
          : undefined
      if (target === undefined)
        return yield* new JobError.InvalidTransition({ jobId: id, from: job.status, to: "Cancelled" })
      const now = yield* Clock.currentTimeMillis
      const to = moved(job, target, now)
      if (to === undefined) continue
      let next = Job.addMessageAt(to, "warning", target === "Cancelled" ? "Job cancelled." : "Cancelling job.", now)
      if (target === "Cancelled") next = Job.expireAfter(next, definitionOf(job).service?.jobRetentionMs ?? 3_600_000)
      const written = yield* store.update(job.revision, next).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTag("StaleRevision", () => Effect.succeed(undefined))
      )
      if (written === undefined) continue
      if (target === "Cancelled") settle(written)
      else running.get(id)?.requestCancel()
      return written
    }
    return yield* new JobError.JobStoreError({ operation: `cancel ${id}`, cause: "too many concurrent changes" })
  })

  const remove = Effect.fn("Engine.delete")(function* (id: string) {
    const job = yield* store.get(id)
    if (JobStatus.isTerminal(job.status) || JobStatus.isQueued(job.status)) {
      const deleting = JobStatus.isQueued(job.status)
        ? yield* moveTo(id, "Deleting", (j) => j, job).pipe(
            Effect.catchTag("InvalidTransition", () => Effect.succeed(undefined))
          )
        : job
      if (deleting !== undefined) return yield* removeJob(id)
    }
    // Executing or Cancelling (or just claimed): the runner deletes it once the tool has stopped.
    const deleting = yield* moveTo(id, "Deleting").pipe(
      Effect.catchTag("InvalidTransition", () => Effect.succeed(undefined))
    )
    if (deleting === undefined) return yield* removeJob(id)
    const local = running.get(id)
    if (local !== undefined) local.requestCancel()
  })

  const purgeQueue = (service: JobUrls.ServicePath) =>
    Effect.gen(function* () {
      let count = 0
      while (true) {
        const page = yield* store.query({ service, statuses: JobStatus.queued, number: 500 })
        if (page.results.length === 0) return count
        let progressed = false
        for (const job of page.results) {
          const done = yield* cancel(job.id).pipe(
            Effect.map(() => true),
            Effect.catchTags({ NoSuchJob: () => Effect.succeed(false), InvalidTransition: () => Effect.succeed(false) })
          )
          if (done) {
            count++
            progressed = true
          }
        }
        if (!progressed) return count
      }
    }).pipe(Effect.catchTag("InvalidQuery", (e) => Effect.die(e)))

  const execute = (submission: Submission) =>
    Effect.flatMap(submit(submission), (job) => awaitJob(job.id).pipe(Effect.orElseSucceed(() => job)))

  return Engine.of({
    submit,
    execute: (s) => execute(s),
    awaitJob,
    cancel,
    delete: remove,
    purgeQueue,
    recover: recover,
    sweep,
    outputDir,
    runningHere: () => running.size,
    onFinished: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  })
})
