/**
 * The CLI's own failures and exit codes. Every failure ends the process with one line on stderr and a non-zero code:
 * 1 for errors (server, network, config), 2 for a command line that cannot be used, and for a job that ended without
 * results 10 + its status number (Failed 15, TimedOut 16, Cancelled 18, Deleted 20), so scripts can tell them apart.
 *
 * @module
 */
import { JobStatus } from "@geojobs/core"
import { Data } from "effect"

/** A failure with the line to print and the exit code. @category errors */
export class Failure extends Data.TaggedError("Failure")<{ readonly message: string; readonly exitCode: number }> {}

/** Exit code for errors. */
export const error = 1
/** Exit code for a command line that cannot be used. */
export const usage = 2

/** A failure that ends the process with `message` and `exitCode` (default: an error, 1). @category constructors */
export const make = (message: string, exitCode: number = error): Failure => new Failure({ message, exitCode })

/** A command line that cannot be used (exit 2): `message` says what is wrong with it. @category constructors */
export const badUsage = (message: string): Failure => make(message, usage)

/** The exit code for a job that ended in `status`: 0 when it has results, else 10 + the status number. */
export const forStatus = (status: JobStatus.JobStatus): number =>
  JobStatus.hasResults(status) ? 0 : 10 + JobStatus.code(status)
