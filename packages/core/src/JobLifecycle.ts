/**
 * The lifecycle policy: what a job becomes when its run ends, when its process stopped heartbeating (a takeover), when someone cancels or deletes
 * it, and when it expires. Pure functions of the job, the event as plain data and the instant `now` (each also in an
 * Effect form that reads `Clock`); they answer the next job or a typed refusal and never touch a store. The engine
 * carries the decisions out (revision-guarded writes, worker kills, file removal), so the message texts and instants a
 * client sees are decided here, once.
 *
 * @module
 */
import { Clock, Effect, Result } from "effect"
import * as Job from "./Job.ts"
import { InvalidTransition } from "./JobError.ts"
import * as JobStatus from "./JobStatus.ts"

/**
 * How one run of a tool ended, as the worker runner saw it. The runner decides precedence: a shutdown interrupt
 * without a cancel request is `Interrupted`, any cancel request is `Cancelled`, then the time limit, then the tool.
 *
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Succeeded"; readonly results: Readonly<Record<string, Job.JobValue>> }
  /** The tool failed; `error` is its error text as the job's log shows it. */
  | { readonly _tag: "Failed"; readonly error: string }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Cancelled" }
  /** The server shut down before the tool ended; `attempts` counts the runs started so far (this one included). */
  | { readonly _tag: "Interrupted"; readonly attempts: number }

/**
 * The service and task settings a decision needs. Durations are milliseconds.
 *
 * @category models
 */
export interface Settings {
  /** The service's `jobRetention`: how long a finished job and its files are kept. */
  readonly retentionMs: number
  /** The service's `maxExecutionTime` (named in a timed-out job's message). */
  readonly maxExecutionTimeMs: number
  /** A retryable task interrupted by a shutdown, a restart or a takeover is queued again instead of failed. */
  readonly retryable: boolean
  /**
   * How many runs a retryable task gets in all, interrupted ones included (the job's claims count them); past it the
   * job is Failed. 1 means it is never run again.
   */
  readonly maxAttempts: number
}

/**
 * A takeover of a job whose process stopped heartbeating: what recovery knows of that process and of the job.
 *
 * @category models
 */
export interface Takeover {
  /** The name of the node that held it (its owner record's), `null` when that record is gone. */
  readonly node: string | null
  /** The holder was an earlier start of this very node (same name, another process): the node restarted. */
  readonly restart: boolean
  /** How many runs of the job were started (its claims), the interrupted one included. */
  readonly attempts: number
}

/**
 * The retention of a job whose service is no longer published (its own setting is unknown).
 *
 * @category models
 */
export const fallbackRetentionMs = 3_600_000

/**
 * What a cancel request does.
 *
 * @category models
 */
export type Cancel =
  /** The job was queued: it is Cancelled now (its waiters can be told). */
  | { readonly _tag: "Cancelled"; readonly job: Job.Job }
  /** A worker runs it: it is Cancelling, and the running tool must be asked to stop. */
  | { readonly _tag: "Cancelling"; readonly job: Job.Job }
  /** It was already Cancelling: nothing to write. */
  | { readonly _tag: "AlreadyCancelling"; readonly job: Job.Job }

/**
 * What a delete request does.
 *
 * @category models
 */
export type Removal =
  /** Nothing runs it (finished, or already being deleted): remove the record and files now. */
  | { readonly _tag: "Remove" }
  /** Queued: write `job` (Deleting) first so no dispatcher claims it meanwhile, then remove it. */
  | { readonly _tag: "RemoveAfterWrite"; readonly job: Job.Job }
  /** A worker holds it: write `job` (Deleting); the runner removes it once the tool has stopped. */
  | { readonly _tag: "AwaitRunner"; readonly job: Job.Job }

/**
 * What becomes of a job orphaned by a dead process.
 *
 * @category models
 */
export type Recovery =
  /** It was being deleted: remove it. */
  | { readonly _tag: "Remove" }
  /** Write `job` (Cancelled, Submitted again, or Failed). */
  | { readonly _tag: "Write"; readonly job: Job.Job }

/** An instant as the job log writes it (`Tue, 16 Nov 2021 19:29:45 GMT`). @category combinators */
export const stamp = (ms: number): string => new Date(ms).toUTCString()

/** The job log's elapsed-time suffix, counted from `started` (or `created` if it never started). @category combinators */
export const elapsed = (job: Job.Job, now: number): string =>
  `(Elapsed Time: ${(((now - (job.started ?? job.created)) | 0) / 1000).toFixed(2)} seconds)`

/** The first message of a run. @category combinators */
export const startMessage = (job: Job.Job): string => `Start Time: ${stamp(job.started ?? job.created)}`

/** The message of a job that ran past its service's limit. @category combinators */
export const timedOutMessage = (maxExecutionTimeMs: number): string =>
  `Job timed out: it ran longer than the service's maximum execution time of ${Math.round(maxExecutionTimeMs / 1000)} seconds.`

const move = (job: Job.Job, to: JobStatus.JobStatus, now: number) => Job.transitionAt(job, to, now)
const finished = (job: Job.Job, to: JobStatus.JobStatus, now: number, retentionMs: number) =>
  Result.map(move(job, to, now), (next) => Job.expireAfter(next, retentionMs))
const isHeld = (job: Job.Job): boolean => JobStatus.table[job.status].held
const retries = (settings: Pick<Settings, "retryable" | "maxAttempts">, attempts: number): boolean =>
  settings.retryable && attempts < settings.maxAttempts
const attemptsText = (settings: Pick<Settings, "maxAttempts">, attempts: number) =>
  `attempt ${attempts} of ${settings.maxAttempts}`

/**
 * Why a takeover ended a run, as the job log says it: "interrupted: node <name> stopped responding", or
 * "interrupted by server restart" when the node that held it is this node, restarted.
 *
 * @category combinators
 */
export const takeoverReason = (takeover: Pick<Takeover, "node" | "restart">): string =>
  takeover.restart
    ? "interrupted by server restart"
    : `interrupted: node ${takeover.node ?? "(unknown)"} stopped responding`
const refuse = (job: Job.Job, to: JobStatus.JobStatus) =>
  Result.fail(new InvalidTransition({ jobId: job.id, from: job.status, to }))

/**
 * The end of a run: a job being deleted becomes Deleted (the caller then removes it); one cancelled or Cancelling
 * becomes Cancelled; an interrupted one is queued again if its task is retryable and has attempts left, else Failed; otherwise the outcome
 * decides (Succeeded with its results, Failed with the tool's error, TimedOut). Every finished job but a Deleted one
 * expires `retentionMs` after now. Refused for a job no worker holds (another process moved it on).
 *
 * @category combinators
 */
export const finishAt = (
  job: Job.Job,
  outcome: Outcome,
  settings: Settings,
  now: number
): Result.Result<Job.Job, InvalidTransition> => {
  const { retentionMs } = settings
  if (job.status === "Deleting") return move(job, "Deleted", now)
  if (!isHeld(job)) return refuse(job, outcome._tag === "Interrupted" ? "Failed" : outcome._tag)
  if (outcome._tag === "Cancelled" || job.status === "Cancelling") {
    const cancelling = job.status === "Cancelling" ? Result.succeed(job) : move(job, "Cancelling", now)
    return Result.flatMap(cancelling, (next) =>
      finished(
        Job.addMessageAt(next, "warning", `Cancelled at ${stamp(now)} ${elapsed(job, now)}`, now),
        "Cancelled",
        now,
        retentionMs
      )
    )
  }
  switch (outcome._tag) {
    case "Interrupted":
      if (retries(settings, outcome.attempts) && JobStatus.canTransition(job.status, "Submitted")) {
        const text = `Interrupted by server shutdown; queued again (${attemptsText(settings, outcome.attempts)}).`
        return move(Job.addMessageAt(job, "warning", text, now), "Submitted", now)
      }
      return finished(
        Job.addMessageAt(
          job,
          "error",
          settings.retryable
            ? `Interrupted by server shutdown (${attemptsText(settings, outcome.attempts)}, none left).`
            : "Interrupted by server shutdown.",
          now
        ),
        "Failed",
        now,
        retentionMs
      )
    case "TimedOut":
      return finished(
        Job.addMessageAt(job, "error", timedOutMessage(settings.maxExecutionTimeMs), now),
        "TimedOut",
        now,
        retentionMs
      )
    case "Succeeded": {
      const next = Job.setResults(job, outcome.results)
      return finished(
        Job.addMessageAt(next, "informative", `Succeeded at ${stamp(now)} ${elapsed(next, now)}`, now),
        "Succeeded",
        now,
        retentionMs
      )
    }
    case "Failed": {
      const next = Job.addMessageAt(job, "error", outcome.error, now)
      return finished(
        Job.addMessageAt(next, "error", `Failed at ${stamp(now)} ${elapsed(next, now)}`, now),
        "Failed",
        now,
        retentionMs
      )
    }
  }
}

/**
 * A claimed job whose task this server no longer publishes: Failed, saying so.
 *
 * @category combinators
 */
export const unpublishedAt = (
  job: Job.Job,
  retentionMs: number,
  now: number
): Result.Result<Job.Job, InvalidTransition> =>
  finished(
    Job.addMessageAt(job, "error", `Task ${job.task} is no longer published by this server.`, now),
    "Failed",
    now,
    retentionMs
  )

/**
 * A job held by a process whose lease ran out (see {@link Takeover}): Deleting is removed, Cancelling becomes
 * Cancelled, a retryable task with attempts left is queued again (its attempts kept), anything else Failed — with the
 * reason of {@link takeoverReason}. Refused for a job no worker holds.
 *
 * @category combinators
 */
export const recoverAt = (
  job: Job.Job,
  settings: Pick<Settings, "retentionMs" | "retryable" | "maxAttempts">,
  takeover: Takeover,
  now: number
): Result.Result<Recovery, InvalidTransition> => {
  const write = (next: Result.Result<Job.Job, InvalidTransition>) =>
    Result.map(next, (j): Recovery => ({ _tag: "Write", job: j }))
  if (!isHeld(job)) return refuse(job, settings.retryable ? "Submitted" : "Failed")
  if (job.status === "Deleting") return Result.succeed({ _tag: "Remove" })
  const why = takeoverReason(takeover)
  if (job.status === "Cancelling") {
    const noted = Job.addMessageAt(job, "warning", `Cancelled: ${why}.`, now)
    return write(finished(noted, "Cancelled", now, settings.retentionMs))
  }
  if (retries(settings, takeover.attempts) && JobStatus.canTransition(job.status, "Submitted")) {
    const text = `${why}; queued again (${attemptsText(settings, takeover.attempts)})`
    return write(move(Job.addMessageAt(job, "warning", text, now), "Submitted", now))
  }
  const text = settings.retryable ? `${why} (${attemptsText(settings, takeover.attempts)}, none left)` : why
  return write(finished(Job.addMessageAt(job, "error", text, now), "Failed", now, settings.retentionMs))
}

/**
 * A cancel request: a queued job is Cancelled at once ("Job cancelled."), an executing one goes to Cancelling
 * ("Cancelling job."), one already Cancelling is left as it is; anything else is an InvalidTransition to Cancelled.
 *
 * @category combinators
 */
export const cancelAt = (
  job: Job.Job,
  settings: Pick<Settings, "retentionMs">,
  now: number
): Result.Result<Cancel, InvalidTransition> => {
  if (job.status === "Cancelling") return Result.succeed({ _tag: "AlreadyCancelling", job })
  if (JobStatus.cancelsAtOnce(job.status)) {
    return Result.map(
      finished(Job.addMessageAt(job, "warning", "Job cancelled.", now), "Cancelled", now, settings.retentionMs),
      (next): Cancel => ({ _tag: "Cancelled", job: next })
    )
  }
  if (JobStatus.canTransition(job.status, "Cancelling")) {
    return Result.map(
      move(Job.addMessageAt(job, "warning", "Cancelling job.", now), "Cancelling", now),
      (next): Cancel => ({ _tag: "Cancelling", job: next })
    )
  }
  return refuse(job, "Cancelled")
}

/**
 * A delete request. Never refused: a job that cannot go to Deleting (finished, or already Deleting) is removed now.
 *
 * @category combinators
 */
export const removeAt = (job: Job.Job, now: number): Removal => {
  if (JobStatus.isTerminal(job.status)) return { _tag: "Remove" }
  const deleting = move(job, "Deleting", now)
  if (Result.isFailure(deleting)) return { _tag: "Remove" }
  return JobStatus.isQueued(job.status)
    ? { _tag: "RemoveAfterWrite", job: deleting.success }
    : { _tag: "AwaitRunner", job: deleting.success }
}

/**
 * Whether a finished job's retention has run out at `now`, so the sweeper may remove it and its files.
 *
 * @category guards
 */
export const isExpiredAt = (job: Job.Job, now: number): boolean =>
  JobStatus.isTerminal(job.status) && job.expires !== null && job.expires <= now

/**
 * Whether a run ended in deletion (see {@link finishAt}): the caller removes the record and the files.
 *
 * @category guards
 */
export const isDeleted = (job: Job.Job): boolean => job.status === "Deleted"

/**
 * Whether a stored job still takes a running tool's progress and messages (it is executing, not being stopped).
 *
 * @category guards
 */
export const takesProgress = (job: Job.Job): boolean => JobStatus.ogcStatus(job.status) === "running"

/**
 * Whether the tool running a job must be asked to stop: the stored job is being cancelled or deleted (by this process
 * or another one sharing the store), or it is gone.
 *
 * @category guards
 */
export const mustStop = (job: Job.Job | undefined): boolean =>
  job === undefined || (JobStatus.table[job.status].held && JobStatus.ogcStatus(job.status) === "dismissed")

const now = <A, E>(f: (now: number) => Result.Result<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.fromResult(f(t)))

/** {@link finishAt}, now. @category combinators */
export const finish = (job: Job.Job, outcome: Outcome, settings: Settings): Effect.Effect<Job.Job, InvalidTransition> =>
  now((t) => finishAt(job, outcome, settings, t))

/** {@link recoverAt}, now. @category combinators */
export const recover = (
  job: Job.Job,
  settings: Pick<Settings, "retentionMs" | "retryable" | "maxAttempts">,
  takeover: Takeover
): Effect.Effect<Recovery, InvalidTransition> => now((t) => recoverAt(job, settings, takeover, t))

/** {@link cancelAt}, now. @category combinators */
export const cancel = (
  job: Job.Job,
  settings: Pick<Settings, "retentionMs">
): Effect.Effect<Cancel, InvalidTransition> => now((t) => cancelAt(job, settings, t))
