/**
 * The port for a job's output files: the folder its tool writes into, reading one file back by its path relative to
 * that folder — safely: no `..`, no absolute path, no link may reach outside the job's own folder — and removing them
 * all when the job goes. The engine's local-folder adapter implements it on `node:fs`; `layerMemory` keeps files in
 * memory for tests. `@geojobs/core/testing` holds the contract suite every adapter passes.
 *
 * @module
 */
import { Context, Data, Effect, Layer } from "effect"
import * as JobId from "./JobId.ts"

/**
 * No readable file at this path of the job's folder — missing, a folder, or a path that would leave the folder. The
 * three read alike on purpose: a client probing for files outside learns nothing.
 *
 * @category errors
 */
export class NoSuchFile extends Data.TaggedError("NoSuchFile")<{ readonly jobId: string; readonly path: string }> {
  override get message(): string {
    return `File ${this.path} of job ${this.jobId} does not exist.`
  }
}

/**
 * The file system (or whatever holds the files) failed.
 *
 * @category errors
 */
export class JobFilesError extends Data.TaggedError("JobFilesError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    const detail = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Job files ${this.operation} failed: ${detail}`
  }
}

/**
 * Every error of the port.
 *
 * @category errors
 */
export type JobFilesFailure = NoSuchFile | JobFilesError

/**
 * File operations. Paths are relative to the job's folder, `/`-separated.
 *
 * @category services
 */
export interface JobFilesShape {
  /** Where a tool writes the job's files (a local adapter: an absolute folder path, created on first use). */
  readonly folder: (jobId: JobId.JobId) => string
  /** Writes a file (creating its folders); for adapters' tests and tools that write through the port. */
  readonly write: (jobId: JobId.JobId, path: string, bytes: Uint8Array) => Effect.Effect<void, JobFilesFailure>
  /** Where an existing regular file of the job is (what a server streams), checked to be inside the job's folder. */
  readonly resolve: (jobId: JobId.JobId, path: string) => Effect.Effect<string, JobFilesFailure>
  /** A file's bytes, under the same checks as {@link JobFilesShape.resolve}. */
  readonly read: (jobId: JobId.JobId, path: string) => Effect.Effect<Uint8Array, JobFilesFailure>
  /** Removes every file of the job; nothing to remove is fine. */
  readonly remove: (jobId: JobId.JobId) => Effect.Effect<void, JobFilesError>
}

/**
 * The job files service.
 *
 * @category services
 */
export class JobFiles extends Context.Service<JobFiles, JobFilesShape>()("@geojobs/core/JobFiles") {
  /**
   * Files in memory, empty at start; for tests.
   *
   * @category layers
   */
  static readonly layerMemory: Layer.Layer<JobFiles> = Layer.sync(JobFiles, () => makeMemory())
}

/**
 * The segments of a relative file path, or `undefined` when it must be refused: empty, absolute (`/x`, `\x`, `C:x`),
 * with an empty, `.` or `..` segment, a backslash or a NUL. Adapters call it before touching anything, then check
 * links themselves.
 *
 * @category guards
 */
export const segments = (path: string): ReadonlyArray<string> | undefined => {
  if (path === "" || path.includes("\\") || path.includes("\u0000") || /^[A-Za-z]:/.test(path)) return undefined
  const parts = path.split("/")
  return parts.some((s) => s === "" || s === "." || s === "..") ? undefined : parts
}

/**
 * The checked segments of `path` in job `jobId`'s folder, failing with `NoSuchFile` when the id or the path is
 * refused (see {@link segments}).
 *
 * @category combinators
 */
export const checkPath = (jobId: string, path: string): Effect.Effect<ReadonlyArray<string>, NoSuchFile> => {
  const parts = JobId.isJobId(jobId) ? segments(path) : undefined
  return parts === undefined ? Effect.fail(new NoSuchFile({ jobId, path })) : Effect.succeed(parts)
}

const makeMemory = (): JobFilesShape => {
  const files = new Map<string, Map<string, Uint8Array>>()
  const find = (jobId: string, path: string) =>
    Effect.flatMap(checkPath(jobId, path), (parts) => {
      const bytes = files.get(jobId)?.get(parts.join("/"))
      return bytes === undefined ? Effect.fail(new NoSuchFile({ jobId, path })) : Effect.succeed(bytes)
    })
  return {
    folder: (jobId) => `memory:/jobs/${jobId}`,
    write: (jobId, path, bytes) =>
      Effect.flatMap(checkPath(jobId, path), (parts) =>
        Effect.sync(() => {
          const job = files.get(jobId) ?? new Map<string, Uint8Array>()
          files.set(jobId, job)
          job.set(parts.join("/"), Uint8Array.from(bytes))
        })
      ),
    resolve: (jobId, path) => Effect.map(find(jobId, path), () => `memory:/jobs/${jobId}/${path}`),
    read: (jobId, path) => Effect.map(find(jobId, path), (bytes) => Uint8Array.from(bytes)),
    remove: (jobId) => Effect.sync(() => void files.delete(jobId))
  }
}
