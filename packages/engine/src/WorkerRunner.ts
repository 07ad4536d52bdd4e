/**
 * Runs claimed jobs on a piscina pool of worker threads, one `WorkerTask` each: the tool's progress and messages come
 * back over a MessageChannel and are written at most once per interval, the time limit starts when the worker reports
 * `started` and ends in a terminated worker, a cancel asks the tool to stop and terminates its worker after a grace
 * period, and shutdown interrupts what is left. Threads run under their service's `WorkerLimits` (one pool per
 * distinct `resourceLimits`); a thread that runs out of memory or crashes fails only its own job and is replaced, and
 * one left with a big heap after a job is retired. What the job becomes at the end is `JobLifecycle.finishAt`'s
 * decision.
 *
 * Every write of a run — progress, messages, its end — is made under the run's claim (its fencing token, see
 * `JobQueue.updateClaimed`). A run whose claim was lost (another process took the job over), or every run when this
 * process's lease lapsed, is given up: its tool is stopped as for a cancel (the AbortSignal, then its worker terminated
 * after the grace period) and nothing more is written for it.
 *
 * @module
 */
import { MessageChannel, receiveMessageOnPort, type Worker } from "node:worker_threads"
import { EncodedValue, Job, type JobFiles, JobLifecycle, type JobQueue, type JobStore } from "@geojobs/core"
import { Clock, Effect, FiberSet, Schedule, type Scope, Semaphore } from "effect"
import { Piscina } from "piscina"
import type { Completion } from "./Completion.ts"
import type * as InputStaging from "./InputStaging.ts"
import { executionOf, type ServiceRegistry, settingsOf } from "./ServiceRegistry.ts"
import * as StoredJob from "./StoredJob.ts"
import * as ThreadPriority from "./ThreadPriority.ts"
import * as WorkerLimits from "./WorkerLimits.ts"
import type { EngineCommand, WorkerEvent, WorkerResult, WorkerTask } from "./WorkerProtocol.ts"

/**
 * Runner settings. Durations are milliseconds.
 *
 * @category models
 */
export interface RunnerOptions {
  /** Threads for CPU-bound tools, one job each. */
  readonly maxWorkers: number
  /** Jobs at once in all: how many I/O-bound ones a shared thread may take. */
  readonly slots: number
  /** Threads shared by I/O-bound tools. */
  readonly ioWorkers: number
  readonly cancelGraceMs: number
  /** The engine's thread limits; a service's `workerLimits` go over them. */
  readonly workerLimits?: WorkerLimits.Settings | undefined
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
  readonly queue: JobQueue.JobQueueShape
  /** Whether this process holds its lease at `now`; a run writes nothing once it does not. */
  readonly leaseHeld: (now: number) => boolean
  readonly files: JobFiles.JobFilesShape
  readonly registry: ServiceRegistry["Service"]
  readonly completion: Completion
  /** Called when a job has left its worker (a slot is free). */
  readonly freed: () => void
  /** Puts the job's uploaded items into its folder (`InputStaging.stage`): the inputs the tool gets, or why it cannot run. */
  readonly stage?: (job: Job.Job, folder: string) => Effect.Effect<InputStaging.Staged>
}

/**
 * The runner's operations.
 *
 * @category models
 */
export interface WorkerRunner {
  /** Starts running a claimed (Executing) job under its claim; answers once it is on its way. */
  readonly start: (claimed: JobQueue.Claimed) => Effect.Effect<void>
  /** Jobs executing in this process (runs being given up included, until their tools have stopped). */
  readonly size: () => number
  /** Of them, those of CPU-bound or of I/O-bound services (`ServiceRegistry.executionOf`). */
  readonly sizeOf: (execution: "cpu" | "io") => number
  /** Whether the job was handed to this runner and its run is not over (from {@link start} on, before its fiber began). */
  readonly isRunning: (id: string) => boolean
  /** Asks the tool running a job here to stop (no-op when it does not run here). */
  readonly requestCancel: (id: string) => void
  /** The claims of the runs still going here (not given up, not ending). */
  readonly claims: () => ReadonlyArray<JobQueue.HeldClaim>
  /** Gives a run up: its tool is stopped and nothing more is written for it (its claim is lost). */
  readonly giveUp: (id: string, reason: string) => void
  /** Gives every run up (this process's lease lapsed). */
  readonly giveUpAll: (reason: string) => void
  /** Writes buffered progress and messages of every running job, and notices cancels made elsewhere. */
  readonly flushAll: Effect.Effect<void>
  /** Shutdown: terminates every running tool; its job ends as interrupted. Then waits (at most 5 s) for the runs. */
  readonly interruptAll: Effect.Effect<void>
  /** Destroys the pool. */
  readonly destroy: Effect.Effect<void>
}

interface Running {
  job: Job.Job
  readonly execution: "cpu" | "io"
  readonly claim: JobQueue.Claim
  /** Why the run was given up; nothing more is written for it. */
  lost: string | undefined
  /** Its end is being written (under its claim): giving it up now changes nothing. */
  ending: boolean
  /**
   * One write of this run at a time. An end written while a flush's write is in flight would write that flush's
   * messages too, or miss them if the flush had taken them out (apps/server's PgRestart test saw a job succeed
   * without its start message: the flush's write failed on the restarting database while the 20 ms run's end was
   * written).
   */
  readonly writes: Semaphore.Semaphore
  readonly progress: {
    pending: WorkerEvent | undefined
    messages: Array<Extract<WorkerEvent, { type: "message" }>>
    /**
     * A write carrying `messages` failed: how many messages the stored job had under it. The store may have applied
     * it all the same (the connection broke after, before the answer), and then they follow there, in order.
     */
    failedAt: number | undefined
  }
  cancel: "none" | "requested"
  timedOut: boolean
  interrupted: boolean
  readonly limits: WorkerLimits.WorkerLimits
  /** Why the thread ended, as it said before it did (`crashed`, `exited`). */
  ended: string | undefined
  /** The thread asked to be retired after this job. */
  retire: number | undefined
  readonly requestCancel: () => void
  /** Asks the tool to stop, and terminates its worker after the grace period. */
  readonly stop: () => void
  readonly kill: () => void
}

/** How the end of a run is written again while the store cannot be reached: after 100 ms, then twice as long each time, at most a second apart. */
const endRetries = Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("1 second")])

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
 * `messages` less those a failed write stored after all: found in `job` from `failedAt` on, in order (anything else
 * written there since — a cancel's message — ends the match). Without this a write whose answer was lost wrote them
 * twice.
 */
const unwritten = (
  job: Job.Job,
  messages: ReadonlyArray<Extract<WorkerEvent, { type: "message" }>>,
  failedAt: number | undefined
): ReadonlyArray<Extract<WorkerEvent, { type: "message" }>> => {
  if (failedAt === undefined) return messages
  let k = 0
  for (; k < messages.length; k++) {
    const stored = job.messages[failedAt + k]
    if (stored === undefined || stored.level !== messages[k]?.level || stored.description !== messages[k]?.text) break
  }
  return k === 0 ? messages : messages.slice(k)
}

/** The job's error text: the tool's own error, or what ended its thread. */
const failureText = (entry: Running, error: unknown): string => {
  if ((error as { readonly code?: unknown } | null)?.code === "ERR_WORKER_OUT_OF_MEMORY") {
    return WorkerLimits.outOfMemoryMessage(entry.limits)
  }
  return entry.ended ?? errorText(error)
}

/**
 * How a run ended, from what the runner saw: a shutdown interrupt without a cancel, any cancel, the time limit, then
 * the tool's own answer (or what ended its thread).
 */
const outcomeOf = (
  entry: Running,
  settled: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
): JobLifecycle.Outcome => {
  if (entry.interrupted && entry.cancel === "none") return { _tag: "Interrupted", attempts: entry.claim.number }
  if (entry.cancel === "requested") return { _tag: "Cancelled" }
  if (entry.timedOut) return { _tag: "TimedOut" }
  return settled.ok
    ? { _tag: "Succeeded", results: EncodedValue.decodeAll(settled.results) }
    : { _tag: "Failed", error: failureText(entry, settled.error) }
}

/**
 * Runs a job on a shared (I/O-bound) thread: a hard kill cannot terminate the thread without ending the other jobs on
 * it, so the job is let go instead — it ends now, as a terminated one would (cancelled, timed out, interrupted: the
 * runner's flags say which), and whatever its tool does after is ignored (its port is closed; its answer is dropped).
 * Its slot of the thread stays taken until the tool returns, which bounds what a tool ignoring its signal can hold.
 */
const runShared = (
  pool: Piscina<WorkerTask, WorkerResult>,
  task: WorkerTask,
  kill: AbortSignal
): Promise<{ readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }> =>
  new Promise((resolve) => {
    const onKill = () => resolve({ ok: false, error: new Error("The tool was let go: it did not stop when asked.") })
    if (kill.aborted) return onKill()
    kill.addEventListener("abort", onKill, { once: true })
    pool.run(task, { transferList: [task.port] }).then(
      (results) => {
        kill.removeEventListener("abort", onKill)
        resolve({ ok: true, results })
      },
      (error: unknown) => {
        kill.removeEventListener("abort", onKill)
        resolve({ ok: false, error })
      }
    )
  })

/**
 * A runner with its pool; the runs are forked in the given scope.
 *
 * @category constructors
 */
export const make = (options: RunnerOptions, deps: RunnerDeps): Effect.Effect<WorkerRunner, never, Scope.Scope> =>
  Effect.gen(function* () {
    const { store, queue, files, registry, completion } = deps
    // Threads that asked to be retired: piscina must not give them another job before they are terminated.
    const retiring = new Set<number>()
    const pools = new Map<string, Piscina<WorkerTask, WorkerResult>>()
    const engineLimits = WorkerLimits.resolve(options.workerLimits)
    /**
     * The pool for a service's limits and kind. CPU-bound jobs: a thread each (`maxWorkers` threads). I/O-bound jobs:
     * `ioWorkers` threads each taking as many as the slots allow, least busy first; such a thread is never
     * terminated for one job (see `run`).
     */
    const poolFor = (limits: WorkerLimits.WorkerLimits, execution: "cpu" | "io") => {
      const key = `${execution}:${WorkerLimits.poolKey(limits)}`
      let pool = pools.get(key)
      if (pool === undefined) {
        const perThread = execution === "io" ? options.slots : 1
        pool = new Piscina<WorkerTask, WorkerResult>({
          ...ThreadPriority.workerEntry(options.workerUrl ?? defaultWorkerUrl, ThreadPriority.toolNiceness),
          maxThreads: execution === "io" ? options.ioWorkers : options.maxWorkers,
          // Threads start with the first job and end after a minute idle: an idle node holds none (a warm one was ~29 MB
          // of its idle RSS, measured 2026-12-03); a first job after a quiet minute pays the thread's start.
          minThreads: 0,
          idleTimeout: 60_000,
          concurrentTasksPerWorker: perThread,
          // Between tasks the thread waits on its event loop, not in a blocking Atomics.wait: every job's MessagePort
          // is closed through that loop, and with the blocking wait the closes never ran. Measured (piscina 5.3, one
          // thread, 5,000-task rounds, each task given a port; RSS after GC): "sync" 125 → 161 → 186 → 218 → 245 MB,
          // "async" 106 → 122 → 145 → 146 → 146 MB; without ports 90–109 MB. The server leaked ~6 KB a job this way
          // (`pnpm bench:memory`, 2026-12-04).
          atomics: "async",
          resourceLimits: WorkerLimits.toResourceLimits(limits),
          // The least busy thread with room, never one being retired (piscina's default balancer would give a thread
          // running a task that carries an AbortSignal no other: only idle threads).
          loadBalancer: (_task, workers) => {
            let best: (typeof workers)[number] | null = null
            for (const w of workers) {
              if (w.currentUsage >= perThread || retiring.has(w.id)) continue
              if (best === null || w.currentUsage < best.currentUsage) best = w
            }
            return best
          }
        })
        pools.set(key, pool)
      }
      return pool
    }
    poolFor(engineLimits, "cpu")
    /** Ends a retired thread (it runs nothing: no job is given to it); piscina replaces it. */
    const retireThread = (id: number) =>
      Effect.promise(async () => {
        const thread = [...pools.values()].flatMap((p) => p.threads).find((w: Worker) => w.threadId === id)
        await thread?.terminate()
        retiring.delete(id)
      })
    const running = new Map<string, Running>()
    /** The jobs handed to `start` whose runs are not over, known from the hand-over on (`running` from the run's start). */
    const handedOver = new Set<string>()
    const runs = yield* FiberSet.make()

    const giveUp = (entry: Running, reason: string) => {
      if (entry.lost !== undefined || entry.ending) return
      entry.lost = reason
      entry.stop()
    }
    const logGivenUp = (entry: Running) =>
      Effect.logWarning(`gave up job ${entry.job.id} (claim ${entry.claim.number}): ${entry.lost}; nothing written`)
    const lostClaim = (entry: Running) => () =>
      Effect.sync(() => giveUp(entry, "another node took it over")).pipe(Effect.as("lost" as const))

    const flush = (entry: Running) =>
      Effect.gen(function* () {
        // Its end writes whatever is pending.
        if (entry.lost !== undefined || entry.ending) return
        // Messages leave the list once written, not before: what a write that fails (the database restarting) or
        // that is not made (the job Cancelling shows no progress; its end writes them) carried stays for the next
        // write, in order. Those the tool sends meanwhile come after them.
        const { pending, messages } = entry.progress
        const carried = messages.length
        let base = entry.job.messages.length
        let declined = false
        const written = yield* StoredJob.modifyClaimed(
          queue,
          store,
          entry.claim,
          entry.job.id,
          (job, now) => {
            if (!JobLifecycle.takesProgress(job)) {
              declined = true
              return undefined
            }
            base = job.messages.length
            let next = job
            next = addMessages(next, unwritten(job, messages.slice(0, carried), entry.progress.failedAt), now)
            if (pending?.type === "progress") next = Job.setProgress(next, pending.percent, pending.message)
            return next === job ? undefined : next
          },
          entry.job
        ).pipe(
          Effect.catchTag("LostClaim", lostClaim(entry)),
          Effect.tapErrorTag("JobStoreError", () => Effect.sync(() => (entry.progress.failedAt ??= base)))
        )
        if (written === "lost") return
        if (!declined) {
          // Written, or nothing left to write: the store holds what the failed write may have left.
          messages.splice(0, carried)
          if (entry.progress.pending === pending) entry.progress.pending = undefined
          entry.progress.failedAt = undefined
        }
        if (written !== undefined) {
          entry.job = written
          return
        }
        // Nothing written: either nothing to write or the job moved on; look at what is stored.
        const stored = yield* StoredJob.find(store, entry.job.id)
        if (JobLifecycle.mustStop(stored)) entry.requestCancel()
        if (stored !== undefined) entry.job = stored
      }).pipe(
        Effect.catch(() => Effect.void),
        entry.writes.withPermit
      )

    const finish = (
      entry: Running,
      settled: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
    ) =>
      Effect.gen(function* () {
        if (entry.lost === undefined && !deps.leaseHeld(yield* Clock.currentTimeMillis)) {
          giveUpAll("this node's lease lapsed")
        }
        if (entry.lost !== undefined) return undefined
        entry.ending = true
        const outcome = outcomeOf(entry, settled)
        const settings = settingsOf(registry, entry.job)
        const { progress } = entry
        let base = entry.job.messages.length
        const written = yield* StoredJob.applyClaimed(
          queue,
          store,
          entry.claim,
          entry.job.id,
          (job, now) => {
            base = job.messages.length
            const next = addMessages(job, unwritten(job, progress.messages, progress.failedAt), now)
            return JobLifecycle.finishAt(next, outcome, settings, now)
          },
          entry.job
        ).pipe(
          // After a flush in flight: its messages are back in the list, or written, when this write is made.
          entry.writes.withPermit,
          // Tried again by `recordEnd`: the messages may have been stored by this attempt after all.
          Effect.tapErrorTag("JobStoreError", () => Effect.sync(() => (progress.failedAt ??= base))),
          Effect.catchTag("LostClaim", () =>
            Effect.sync(() => {
              entry.lost = "another node took it over"
              return undefined
            })
          )
        )
        if (written !== undefined && JobLifecycle.isDeleted(written)) yield* StoredJob.remove(store, files, written.id)
        return written
      })

    /**
     * {@link finish}, tried again while the store cannot be reached (PostgreSQL restarting, found by apps/server's
     * PgRestart test: an end written during the restart failed once, and its job stayed Executing for good — the run
     * was over, so nothing here wrote it again, and recovery leaves a live node's jobs alone). The tool's work is
     * done: the write is retried ({@link endRetries}) for as long as this process holds its lease. Once the lease has
     * lapsed the run is given up like any other (nothing more is written; the job is an orphan for recovery). The run
     * keeps its slot meanwhile.
     */
    const recordEnd = (
      entry: Running,
      settled: { readonly ok: true; readonly results: WorkerResult } | { readonly ok: false; readonly error: unknown }
    ) => {
      let warned = false
      return finish(entry, settled).pipe(
        Effect.tapErrorTag("JobStoreError", (error) =>
          warned
            ? Effect.void
            : Effect.logWarning(
                `could not record the end of job ${entry.job.id} yet (${error.operation}); retrying while this node holds its lease`,
                error
              ).pipe(Effect.ensuring(Effect.sync(() => (warned = true))))
        ),
        Effect.retry({
          schedule: endRetries,
          while: (error) =>
            error._tag === "JobStoreError" ? Effect.map(Clock.currentTimeMillis, deps.leaseHeld) : false
        }),
        // Retries stop on a store error only when the lease has lapsed (`finish` gives runs up on a lapsed lease only
        // before their end is begun: this one's was).
        Effect.catchTag("JobStoreError", () =>
          Effect.sync(() => {
            entry.lost = "this node's lease lapsed before its end could be recorded"
            return undefined
          })
        )
      )
    }

    const run = ({ job: claimed, claim }: JobQueue.Claimed) =>
      Effect.gen(function* () {
        const service = registry.find(claimed.service)
        const task = service?.tasks.get(claimed.task)
        if (service === undefined || task === undefined) {
          const { retentionMs } = settingsOf(registry, claimed)
          const gone = yield* StoredJob.applyClaimed(queue, store, claim, claimed.id, (job, now) =>
            JobLifecycle.unpublishedAt(job, retentionMs, now)
          ).pipe(Effect.catchTag("LostClaim", () => Effect.succeed(undefined)))
          if (gone !== undefined) completion.settle(gone)
          return
        }
        const limits = WorkerLimits.resolve(options.workerLimits, service.workerLimits)
        const execution = executionOf(service)
        const channel = new MessageChannel()
        const hardKill = new AbortController()
        let graceTimer: ReturnType<typeof setTimeout> | undefined
        let toolEnded = false
        const stop = () => {
          if (toolEnded || graceTimer !== undefined) return
          channel.port1.postMessage({ type: "abort" } satisfies EngineCommand)
          graceTimer = setTimeout(() => hardKill.abort(), options.cancelGraceMs)
        }
        const entry: Running = {
          job: claimed,
          execution,
          claim,
          lost: undefined,
          ending: false,
          writes: Semaphore.makeUnsafe(1),
          progress: { pending: undefined, messages: [], failedAt: undefined },
          cancel: "none",
          timedOut: false,
          interrupted: false,
          limits,
          ended: undefined,
          retire: undefined,
          requestCancel: () => {
            if (entry.cancel !== "none") return
            entry.cancel = "requested"
            stop()
          },
          stop,
          kill: () => hardKill.abort()
        }
        let timer: ReturnType<typeof setTimeout> | undefined
        const onEvent = (event: WorkerEvent) => {
          switch (event.type) {
            case "started":
              timer = setTimeout(() => {
                entry.timedOut = true
                hardKill.abort()
              }, service.maxExecutionTimeMs)
              return
            case "progress":
              entry.progress.pending = event
              return
            case "message":
              entry.progress.messages.push(event)
              return
            case "retire":
              // Before the acknowledgement: the thread answers its job only after it, and piscina may hand it the
              // next job in the same turn.
              retiring.add(event.threadId)
              entry.retire = event.threadId
              channel.port1.postMessage({ type: "retired" } satisfies EngineCommand)
              return
            case "crashed":
              entry.ended ??= `The tool crashed its worker thread: ${event.text}`
              return
            case "exited":
              entry.ended ??= `The tool ended its worker thread (exit code ${event.code}).`
          }
        }
        channel.port1.on("message", onEvent)
        running.set(claimed.id, entry)
        // The job may have been cancelled between the claim and now.
        entry.progress.messages.push({
          type: "message",
          level: "informative",
          text: JobLifecycle.startMessage(claimed)
        })
        const staged = deps.stage === undefined ? undefined : yield* deps.stage(claimed, files.folder(claimed.id))
        const workerTask: WorkerTask = {
          jobId: claimed.id,
          moduleUrl: task.moduleUrl,
          exportName: task.exportName,
          inputs: EncodedValue.encodeAll(staged?.ok === true ? staged.inputs : claimed.inputs),
          outputDir: files.folder(claimed.id),
          // A shared thread is not retired for its heap: that would end the other jobs on it.
          retireAboveHeapMb: execution === "io" ? Number.POSITIVE_INFINITY : limits.retireAboveHeapMb,
          port: channel.port2
        }
        const settled =
          staged?.ok === false
            ? { ok: false as const, error: staged.error }
            : yield* Effect.promise(() =>
                execution === "cpu"
                  ? poolFor(limits, execution)
                      .run(workerTask, { transferList: [channel.port2], signal: hardKill.signal })
                      .then(
                        (results) => ({ ok: true as const, results }),
                        (error: unknown) => ({ ok: false as const, error })
                      )
                  : runShared(poolFor(limits, execution), workerTask, hardKill.signal)
              )
        // The last events the worker posted (its last progress, why its thread ended) are queued on our side already.
        for (
          let next = receiveMessageOnPort(channel.port1);
          next !== undefined;
          next = receiveMessageOnPort(channel.port1)
        ) {
          onEvent(next.message as WorkerEvent)
        }
        channel.port1.close()
        toolEnded = true
        // After the drain: a `started` read only now must not leave a time limit armed.
        if (timer !== undefined) clearTimeout(timer)
        if (graceTimer !== undefined) clearTimeout(graceTimer)
        // Before the slot is freed: the next job then finds the pool without this thread.
        if (entry.retire !== undefined) {
          yield* retireThread(entry.retire)
        }
        const written = yield* recordEnd(entry, settled).pipe(
          Effect.catch((error) => Effect.as(Effect.logError("could not record the end of a job", error), undefined))
        )
        if (entry.lost !== undefined) yield* logGivenUp(entry)
        running.delete(claimed.id)
        if (written !== undefined) completion.settle(written)
        deps.freed()
      })

    const giveUpAll = (reason: string) => {
      for (const entry of running.values()) giveUp(entry, reason)
    }

    return {
      start: (claimed) => {
        const id = claimed.job.id
        handedOver.add(id)
        return Effect.asVoid(
          FiberSet.run(runs, run(claimed).pipe(Effect.ensuring(Effect.sync(() => handedOver.delete(id)))))
        )
      },
      size: () => running.size,
      sizeOf: (execution) => {
        let n = 0
        for (const e of running.values()) if (e.execution === execution) n++
        return n
      },
      isRunning: (id) => handedOver.has(id),
      requestCancel: (id) => running.get(id)?.requestCancel(),
      claims: () =>
        [...running.values()].flatMap(
          (e): ReadonlyArray<JobQueue.HeldClaim> =>
            e.lost === undefined && !e.ending ? [{ jobId: e.job.id, claim: e.claim }] : []
        ),
      giveUp: (id, reason) => {
        const entry = running.get(id)
        if (entry !== undefined) giveUp(entry, reason)
      },
      giveUpAll,
      flushAll: Effect.gen(function* () {
        if (running.size === 0) return
        if (!deps.leaseHeld(yield* Clock.currentTimeMillis)) return giveUpAll("this node's lease lapsed")
        yield* Effect.forEach([...running.values()], flush, { discard: true })
      }),
      interruptAll: Effect.gen(function* () {
        for (const entry of running.values()) {
          entry.interrupted = true
          entry.kill()
        }
        yield* FiberSet.awaitEmpty(runs).pipe(Effect.timeout(5000), Effect.ignore)
      }),
      destroy: Effect.promise(() => Promise.all([...pools.values()].map((pool) => pool.destroy())))
    }
  })
