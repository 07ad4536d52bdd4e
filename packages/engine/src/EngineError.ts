/**
 * The engine's own tagged errors: references to services and tasks that are not published, a stopping engine, and
 * settings that cannot work.
 * (Job-level errors — NoSuchJob, InvalidTransition, … — come from core; refused input values from tools.)
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
 * The engine is shutting down and takes no new jobs.
 *
 * @category errors
 */
export class EngineStopped extends Data.TaggedError("EngineStopped") {
  override get message(): string {
    return "The server is shutting down and accepts no new jobs."
  }
}

/**
 * Engine settings that cannot work together (a heartbeat too slow for its lease, say); the engine does not start.
 *
 * @category errors
 */
export class InvalidEngineOptions extends Data.TaggedError("InvalidEngineOptions")<{ readonly problem: string }> {
  override get message(): string {
    return `Invalid engine settings: ${this.problem}`
  }
}
