/**
 * The job engine: accepts jobs, runs them on worker threads, and keeps their stored state true. This module is the
 * façade: it assembles the dispatcher (`Dispatcher`), the worker runner (`WorkerRunner`: pool, progress, time limit,
 * cancel grace, kill, fenced writes), this process's lease (`Lease`: heartbeats), takeover of orphans (`Recovery`)
 * and the sweeper (`Retention`), runs them until its layer is released (graceful shutdown), and offers the operations
 * clients call. When the storage offers queue signals (`JobQueue.QueueSignals`, optional), a signal of work wakes the
 * dispatcher and a stop signal stops the tool of a job cancelled or deleted through another process within
 * milliseconds (then the usual grace period and kill); polling goes on at a slow rate while signals cross processes.
 * What a job becomes is always core's `JobLifecycle` decision; its files go through the `JobFiles` port.
 *
 * @module
 */
import { availableParallelism, hostname } from "node:os"
import {
  type Callback,
  CallbackOutbox,
  Entropy,
  Job,
  JobError,
  JobFiles,
  JobLifecycle,
  JobQueue,
  JobStatus,
  JobStore,
  type JobUrls,
  ServiceRef,
  Uploads
} from "@geojobs/core"
import type { GPValue } from "@geojobs/tools"
import { Clock, Context, Effect, Fiber, Layer, Option, PubSub, Result, Schedule } from "effect"
import * as CallbackDelivery from "./CallbackDelivery.ts"
import * as Completion from "./Completion.ts"
import * as Dispatcher from "./Dispatcher.ts"
import { EngineStopped, InvalidEngineOptions, NoSuchService, NoSuchTask } from "./EngineError.ts"
import * as InputStaging from "./InputStaging.ts"
import * as Lease from "./Lease.ts"
import * as LocalJobFiles from "./LocalJobFiles.ts"
import * as Recovery from "./Recovery.ts"
import type * as RemoteInput from "./RemoteInput.ts"
import * as Retention from "./Retention.ts"
import { ServiceRegistry, settingsOf } from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"
import type * as WorkerLimits from "./WorkerLimits.ts"
import * as WorkerRunner from "./WorkerRunner.ts"

/**
 * The slots of a node by default: 16 per core (32 on two cores) — room for I/O-bound jobs, which cost a thread a
 * little each; CPU-bound ones are held to the worker threads anyway.
 *
 * @category models
 */
export const defaultSlots = (): number => 16 * availableParallelism()

/**
 * Engine settings. Durations are milliseconds.
 *
 * @category models
 */
export interface EngineOptions {
  /** Output files go to `<dataDir>/jobs/<jobId>/` (with {@link Engine.layer}). */
  readonly dataDir: string
  /**
   * Worker threads for CPU-bound tools (default: the number of cores): at most this many of their jobs run at once,
   * one per thread, like one ArcGIS instance per job.
   */
  readonly maxWorkers?: number | undefined
  /**
   * Jobs this node runs at once, CPU- and I/O-bound together (default {@link defaultSlots}). I/O-bound tools
   * (`execution: "io"`) share threads of their own, as many jobs per thread as slots allow, so a service of them gets
   * its `maxConcurrentJobs` up to the slots; CPU-bound ones are held to `maxWorkers` as well.
   */
  readonly slots?: number | undefined
  /** Threads shared by the I/O-bound tools' jobs (default 1). */
  readonly ioWorkers?: number | undefined
  /** @deprecated The slots were `maxWorkers × jobsPerWorker`: give `slots` instead. */
  readonly jobsPerWorker?: number | undefined
  /** How long a tool that ignores a cancel keeps running before its worker is terminated (default 5000). */
  readonly cancelGraceMs?: number | undefined
  /** At most one progress write per job per this interval (default 250); also how often a running job's stored state is checked. */
  readonly progressIntervalMs?: number | undefined
  /** How often the store is polled for jobs submitted by other processes (default 250). */
  readonly pollIntervalMs?: number | undefined
  /**
   * The poll interval instead while the queue's signals reach this process from every other one (default 5000;
   * PostgreSQL while its listener is connected): polling is then only the fallback.
   */
  readonly signalledPollIntervalMs?: number | undefined
  /** Heartbeat interval (default 2000); less than half the lease, so one late heartbeat never loses it. */
  readonly heartbeatMs?: number | undefined
  /**
   * The lease (default 10000): a process whose last heartbeat is older than this has stopped responding, and another
   * takes its jobs over; a process that could not write its own heartbeat for this long gives its runs up.
   */
  readonly leaseMs?: number | undefined
  /** This node's name in the queue's owner records, logs and job messages (default `<hostname>-<pid>`). */
  readonly nodeName?: string | undefined
  /** How often expired jobs (and expired uploaded items) are removed (default 60000). */
  readonly sweepIntervalMs?: number | undefined
  /** On shutdown, how long running jobs may go on before they are interrupted (default 10000). */
  readonly shutdownGraceMs?: number | undefined
  /**
   * The memory of each tool worker thread (default: a 512 MB old generation, retired after a job that left more than
   * 256 MB in use; see `WorkerLimits`). A tool going past it fails its own job — "The tool ran out of memory (limit
   * 512 MB)." — and its thread is replaced. A service's `workerLimits` go over these.
   */
  readonly workerLimits?: WorkerLimits.Settings | undefined
  /** The worker module (default this package's `ToolWorker`). */
  readonly workerUrl?: string | undefined
  /**
   * How `{"url":…}` file inputs are fetched before a run (`RemoteInput`): hosts allowed although not public, the
   * largest file (default 100 MB), the time limit (default 60 s).
   */
  readonly urlInputs?: RemoteInput.Settings | undefined
  /** This process's id in the store (default random; a new one is taken after a lapsed lease). */
  readonly ownerId?: string | undefined
  /** How OGC callbacks are delivered from the storage's outbox (`CallbackDelivery`; when it has one). */
  readonly callbacks?: CallbackDelivery.Settings | undefined
}

/** The default heartbeat interval and lease. @category models */
export const defaultLease = { heartbeatMs: 2_000, leaseMs: 10_000 } as const

/**
 * The heartbeat interval and lease of the options, checked: both positive, the heartbeat less than half the lease.
 *
 * @category constructors
 */
export const leaseSettings = (
  options: Pick<EngineOptions, "heartbeatMs" | "leaseMs">
): Effect.Effect<{ readonly heartbeatMs: number; readonly leaseMs: number }, InvalidEngineOptions> => {
  const heartbeatMs = options.heartbeatMs ?? defaultLease.heartbeatMs
  const leaseMs = options.leaseMs ?? defaultLease.leaseMs
  if (!(Number.isFinite(heartbeatMs) && heartbeatMs > 0 && Number.isFinite(leaseMs) && leaseMs > 0)) {
    return Effect.fail(new InvalidEngineOptions({ problem: "heartbeatMs and leaseMs must be positive numbers" }))
  }
  if (heartbeatMs >= leaseMs / 2) {
    return Effect.fail(
      new InvalidEngineOptions({
        problem: `heartbeatMs (${heartbeatMs}) must be less than half of leaseMs (${leaseMs})`
      })
    )
  }
  return Effect.succeed({ heartbeatMs, leaseMs })
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
  /** Where the job's OGC callbacks go (stored with it). */
  readonly subscriber?: Callback.Subscriber | undefined
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
  /** Takes over jobs of processes whose lease ran out, now (it also runs at start and on every heartbeat). */
  readonly recover: Effect.Effect<number, JobError.JobStoreError>
  /** Removes expired jobs now (it also runs on the sweep interval); answers how many. */
  readonly sweep: Effect.Effect<number, JobError.JobStoreError>
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
   * The engine, started, with its files in local folders under `dataDir` (`LocalJobFiles`, also provided): recovery,
   * dispatcher, heartbeat and sweeper run until the layer is released, which shuts it down gracefully.
   *
   * @category layers
   */
  static readonly layer = (
    options: EngineOptions
  ): Layer.Layer<
    Engine | JobFiles.JobFiles,
    JobError.JobStoreError | InvalidEngineOptions,
    JobStore.JobStore | JobQueue.JobQueue | ServiceRegistry | Entropy.Entropy
  > =>
    Engine.layerWithJobFiles(options).pipe(
      // As before the port: a data folder that cannot be created stops the start-up as a defect.
      Layer.provideMerge(Layer.orDie(LocalJobFiles.layer(options.dataDir)))
    )

  /**
   * The engine over the `JobFiles` in context (the composition root picks the adapter).
   *
   * @category layers
   */
  static readonly layerWithJobFiles = (
    options: EngineOptions
  ): Layer.Layer<
    Engine,
    JobError.JobStoreError | InvalidEngineOptions,
    JobStore.JobStore | JobQueue.JobQueue | ServiceRegistry | Entropy.Entropy | JobFiles.JobFiles
  > => Layer.effect(Engine, make(options))
}

const make = Effect.fnUntraced(function* (options: EngineOptions) {
  const store = yield* JobStore.JobStore
  const queue = yield* JobQueue.JobQueue
  const registry = yield* ServiceRegistry
  const entropy = yield* Entropy.Entropy
  const files = yield* JobFiles.JobFiles
  // Optional: without an uploads adapter in context no service takes uploads, and `{"itemID":…}` inputs are refused.
  const uploads = Option.getOrUndefined(yield* Effect.serviceOption(Uploads.Uploads))
  const maxWorkers = Math.max(1, options.maxWorkers ?? availableParallelism())
  const slots = Math.max(
    maxWorkers,
    options.slots ?? (options.jobsPerWorker === undefined ? defaultSlots() : maxWorkers * options.jobsPerWorker)
  )
  const pollIntervalMs = options.pollIntervalMs ?? 250
  const signalledPollIntervalMs = options.signalledPollIntervalMs ?? 5_000
  // Optional: a storage without signals (or a test's bare store) leaves the engine polling as before.
  const signals = Option.getOrUndefined(yield* Effect.serviceOption(JobQueue.QueueSignals))
  // Optional too: a storage without an outbox delivers no callbacks.
  const outbox = Option.getOrUndefined(yield* Effect.serviceOption(CallbackOutbox.CallbackOutbox))
  // Subscribed before anything runs: no signal of a write made after the start is missed.
  const subscription = signals === undefined ? undefined : yield* signals.subscribe
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000
  const { heartbeatMs, leaseMs } = yield* leaseSettings(options)

  const completion = Completion.make()
  // The lease gives every run up when it lapses, but the runner needs the lease first: bound late.
  let lapsed = (): void => {}
  const lease = yield* Lease.make({
    queue,
    ownerId: options.ownerId ?? Lease.newOwnerId(),
    nodeName: options.nodeName ?? `${hostname()}-${process.pid}`,
    leaseMs,
    onLapse: () => lapsed()
  })
  // The runner wakes the dispatcher when a slot frees, but the dispatcher needs the runner first: bound late.
  let wake = (): void => {}
  const runner = yield* WorkerRunner.make(
    {
      maxWorkers,
      slots,
      ioWorkers: Math.max(1, options.ioWorkers ?? 1),
      cancelGraceMs: options.cancelGraceMs ?? 5000,
      workerLimits: options.workerLimits,
      workerUrl: options.workerUrl
    },
    {
      store,
      queue,
      files,
      registry,
      completion,
      leaseHeld: lease.held,
      freed: () => wake(),
      stage: (job, folder) => InputStaging.stage(uploads, job, folder, options.urlInputs)
    }
  )
  lapsed = () => runner.giveUpAll("this node's lease lapsed")
  const dispatcher = yield* Dispatcher.make({
    queue,
    store,
    registry,
    runner,
    owner: () => lease.owner().id,
    leaseHeld: lease.held,
    slots,
    cpuThreads: maxWorkers,
    pollIntervalMs: () => (signals?.crossProcess() === true ? signalledPollIntervalMs : pollIntervalMs)
  })
  wake = dispatcher.wake
  const recovery = Recovery.make({
    store,
    queue,
    files,
    registry,
    lease,
    leaseMs,
    runsHere: runner.isRunning,
    changed: dispatcher.wake
  })
  const sweep = Retention.sweep({ store, queue, files })
  // The cluster's sweeps (jobs and uploads) run on one node at a time (`Retention.sweepsHere`).
  const sweepsHere = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const owners = yield* queue.owners.pipe(Effect.orElseSucceed(() => []))
    return Retention.sweepsHere(owners, lease.owner().id, now, leaseMs)
  })
  const recover = recovery.recover

  // --- background fibers ---------------------------------------------------------------------------------------

  /** Gives up the runs here whose claims the store no longer holds for us (another node took them over). */
  const checkClaims = Effect.gen(function* () {
    // Listed before the query: a run started after it began could be missing from the answer without being lost.
    const mine = runner.claims()
    if (mine.length === 0) return
    const owner = lease.owner().id
    const held = new Set((yield* queue.claimsOf(owner)).map((h) => `${h.jobId} ${h.claim.owner} ${h.claim.number}`))
    for (const run of mine) {
      if (!held.has(`${run.jobId} ${run.claim.owner} ${run.claim.number}`)) {
        runner.giveUp(run.jobId, "another node took it over")
      }
    }
  })

  /** Stops the tool of a job running here if its stored job says so (a signal is a hint: the store decides). */
  const stopIfAsked = (id: string) =>
    Effect.gen(function* () {
      if (!runner.isRunning(id)) return
      if (JobLifecycle.mustStop(yield* StoredJob.find(store, id))) runner.requestCancel(id)
    }).pipe(Effect.catch((error) => Effect.logError(`could not check job ${id} after a stop signal`, error)))

  /** Acts on queue signals, a batch at a time: work wakes the dispatcher once, stops are checked per job. */
  const onSignals = (from: PubSub.Subscription<JobQueue.Signal>) =>
    Effect.forever(
      Effect.gen(function* () {
        const batch = yield* PubSub.takeAll(from)
        const stops = new Set<string>()
        let work = false
        let resync = false
        for (const signal of batch) {
          if (signal._tag === "Stop") stops.add(signal.jobId)
          else if (signal._tag === "Work") work = true
          else resync = true
        }
        if (work || resync) dispatcher.wake()
        const check = resync ? runner.claims().map((c) => c.jobId) : [...stops]
        yield* Effect.forEach(check, stopIfAsked, { concurrency: 8, discard: true })
      })
    )

  const heartbeat = Effect.andThen(lease.beat, Effect.andThen(checkClaims, recover)).pipe(
    Effect.catch((error) => Effect.logError("heartbeat failed", error))
  )

  // Start: announce ourselves, take over what processes that stopped responding left, then run.
  yield* lease.beat
  yield* recover.pipe(Effect.catch((error) => Effect.logError("recovery failed", error)))
  const background = yield* Effect.forkDetach(
    Effect.all(
      [
        dispatcher.loop,
        subscription === undefined ? Effect.void : onSignals(subscription),
        outbox === undefined ? Effect.void : CallbackDelivery.run(outbox, options.callbacks),
        // One flusher for every running job: progress and messages are written at most once per interval per job.
        Effect.repeat(runner.flushAll, Schedule.spaced(options.progressIntervalMs ?? 250)),
        Effect.repeat(heartbeat, Schedule.spaced(heartbeatMs)),
        Effect.repeat(
          Effect.when(
            Effect.all(
              [
                sweep.pipe(Effect.catch((error) => Effect.as(Effect.logError("sweep failed", error), 0))),
                Retention.sweepUploads(uploads).pipe(
                  Effect.catch((error) => Effect.as(Effect.logError("uploads sweep failed", error), 0))
                )
              ],
              { discard: true }
            ),
            sweepsHere
          ),
          Schedule.spaced(options.sweepIntervalMs ?? 60_000)
        )
      ],
      { concurrency: "unbounded", discard: true }
    )
  )
  dispatcher.wake()

  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      dispatcher.stop()
      yield* Fiber.interrupt(background)
      const deadline = (yield* Clock.currentTimeMillis) + shutdownGraceMs
      while (runner.size() > 0 && (yield* Clock.currentTimeMillis) < deadline) yield* Effect.sleep(50)
      yield* runner.interruptAll
      yield* lease.release.pipe(Effect.ignore)
      yield* runner.destroy
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
    if (!dispatcher.accepting()) return yield* new EngineStopped()
    const { service, task } = yield* find(submission)
    const inputs = yield* InputStaging.check(
      uploads,
      service,
      submission.user,
      yield* task.decodeInputs(submission.params),
      options.urlInputs
    )
    const job = yield* Job.make({
      service: service.ref,
      task: task.name,
      user: submission.user,
      inputs,
      subscriber: submission.subscriber
    }).pipe(
      Effect.catchTag("InvalidReference", (e) => Effect.die(e)),
      Effect.provideService(Entropy.Entropy, entropy)
    )
    const created = yield* store.create(job).pipe(Effect.catchTag("DuplicateJob", (e) => Effect.die(e)))
    dispatcher.wake()
    return created
  })

  const awaitJob = (id: string) =>
    Effect.gen(function* () {
      const finished = completion.waitFor(id)
      while (true) {
        const job = yield* store.get(id)
        if (JobStatus.isTerminal(job.status)) {
          completion.forget(id)
          return job
        }
        // Wake at once when this process finishes it; poll for jobs finished by others.
        yield* Effect.raceFirst(finished, Effect.sleep(pollIntervalMs))
      }
    })

  const cancel = Effect.fn("Engine.cancel")(function* (id: string) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const job = yield* store.get(id)
      const decided = JobLifecycle.cancelAt(job, settingsOf(registry, job), yield* Clock.currentTimeMillis)
      if (Result.isFailure(decided)) return yield* decided.failure
      const decision = decided.success
      if (decision._tag === "AlreadyCancelling") return job
      const written = yield* store.update(job.revision, decision.job).pipe(
        Effect.map((j): Job.Job | undefined => j),
        Effect.catchTag("StaleRevision", () => Effect.succeed(undefined))
      )
      if (written === undefined) continue
      if (decision._tag === "Cancelled") completion.settle(written)
      else runner.requestCancel(id)
      return written
    }
    return yield* new JobError.JobStoreError({ operation: `cancel ${id}`, cause: "too many concurrent changes" })
  })

  const remove = Effect.fn("Engine.delete")(function* (id: string) {
    const job = yield* store.get(id)
    let decision = { _tag: "Remove" } as JobLifecycle.Removal
    const written = yield* StoredJob.modify(
      store,
      id,
      (current, now) => {
        decision = JobLifecycle.removeAt(current, now)
        return decision._tag === "Remove" ? undefined : decision.job
      },
      job
    ).pipe(Effect.catchTag("InvalidTransition", () => Effect.succeed(undefined)))
    // A worker holds it (here or in another process, which notices at its next flush): its runner removes it once
    // the tool has stopped.
    if (written !== undefined && decision._tag === "AwaitRunner") return runner.requestCancel(id)
    return yield* StoredJob.remove(store, files, id)
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
    recover,
    sweep,
    runningHere: runner.size,
    onFinished: completion.onFinished
  })
})
