/**
 * The engine's own tagged errors: references to services and tasks that are not published, and input values a task
 * refuses. (Job-level errors — NoSuchJob, InvalidTransition, … — come from core.)
 *
 * @module
 */
import { Data } from "effect"

/**
 * No service is published at this path.
 *
 * @category errors
 */
export class NoSuchService extends Data.TaggedError("NoSuchService")<{ readonly service: string }> {
  override get message(): string {
    return `Service ${this.service} does not exist or is inaccessible.`
  }
}

/**
 * The service publishes no task of this name.
 *
 * @category errors
 */
export class NoSuchTask extends Data.TaggedError("NoSuchTask")<{ readonly service: string; readonly task: string }> {
  override get message(): string {
    return `Task ${this.task} does not exist in service ${this.service}.`
  }
}

/**
 * An input value a task cannot accept; the message names the parameter and what was expected.
 *
 * @category errors
 */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{
  readonly parameter: string
  readonly expected: string
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * The engine is shutting down and takes no new jobs.
 *
 * @category errors
 */
export class EngineStopped extends Data.TaggedError("EngineStopped")<{}> {
  override get message(): string {
    return "The server is shutting down and accepts no new jobs."
  }
}
