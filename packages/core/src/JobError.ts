/**
 * The tagged errors of the job model. Each is a value in an Effect's error channel (never thrown across a module
 * boundary) and carries a `message` that names what went wrong, so adapters can put it in an ArcGIS error envelope
 * as it is.
 *
 * @module
 */
import { Data } from "effect"

/**
 * No job with this id exists (in this service, when one was given).
 *
 * @category errors
 */
export class NoSuchJob extends Data.TaggedError("NoSuchJob")<{ readonly jobId: string }> {
  override get message(): string {
    return `Job ${this.jobId} does not exist.`
  }
}

/**
 * A job with this id already exists.
 *
 * @category errors
 */
export class DuplicateJob extends Data.TaggedError("DuplicateJob")<{ readonly jobId: string }> {
  override get message(): string {
    return `Job ${this.jobId} already exists.`
  }
}

/**
 * A status change the status table does not allow.
 *
 * @category errors
 */
export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  readonly from: string
  readonly to: string
  readonly jobId?: string
}> {
  override get message(): string {
    const subject = this.jobId === undefined ? "A job" : `Job ${this.jobId}`
    return `${subject} cannot go from ${this.from} to ${this.to}.`
  }
}

/**
 * An update was based on a revision of the job that is no longer the stored one: someone else changed it first.
 *
 * @category errors
 */
export class StaleRevision extends Data.TaggedError("StaleRevision")<{
  readonly jobId: string
  readonly expected: number
  readonly actual: number
}> {
  override get message(): string {
    return `Job ${this.jobId} changed: expected revision ${this.expected}, found ${this.actual}.`
  }
}

/**
 * Which part of a service, task or job reference (or URL) is wrong.
 *
 * @category models
 */
export type ReferencePart =
  | "baseUrl"
  | "folder"
  | "service"
  | "serviceType"
  | "task"
  | "jobId"
  | "param"
  | "path"
  | "serviceId"
  | "file"

/**
 * A service, task, parameter or job reference (or a URL holding one) that is malformed.
 *
 * @category errors
 */
export class InvalidReference extends Data.TaggedError("InvalidReference")<{
  readonly part: ReferencePart
  readonly value: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid ${this.part} ${JSON.stringify(this.value)}: ${this.reason}.`
  }
}

/**
 * A path that is no ArcGIS location at all (an HTTP server answers 404): not a malformed name in a known place, which
 * is an {@link InvalidReference}.
 *
 * @category errors
 */
export class NoSuchResource extends Data.TaggedError("NoSuchResource")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `Resource ${JSON.stringify(this.path)} does not exist: ${this.reason}.`
  }
}

/**
 * A query whose filters are out of range (page size, start, time window).
 *
 * @category errors
 */
export class InvalidQuery extends Data.TaggedError("InvalidQuery")<{
  readonly parameter: string
  readonly reason: string
}> {
  override get message(): string {
    return `Invalid query parameter ${this.parameter}: ${this.reason}.`
  }
}

/**
 * The store itself failed (disk, database connection). Adapters wrap their infrastructure errors in this.
 *
 * @category errors
 */
export class JobStoreError extends Data.TaggedError("JobStoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Job store ${this.operation} failed: ${detail}`
  }
}

/**
 * Every error of the job model.
 *
 * @category errors
 */
export type JobError =
  | NoSuchJob
  | DuplicateJob
  | InvalidTransition
  | StaleRevision
  | InvalidReference
  | NoSuchResource
  | InvalidQuery
  | JobStoreError
