/**
 * The JobFiles port on a local folder: job `j…`'s files live in `<dataDir>/jobs/<jobId>/`, the folder a tool writes
 * into (created by the worker on first use). A file is found by its relative path only if its real path — links
 * followed — is a regular file inside the job's real folder.
 *
 * @module
 */
import { mkdir, readFile, realpath, rm, stat, writeFile } from "node:fs/promises"
import { dirname, join, relative, sep } from "node:path"
import { JobFiles } from "@geojobs/core"
import { Effect, Layer } from "effect"

/**
 * The adapter over `<dataDir>/jobs/`, which it creates.
 *
 * @category constructors
 */
export const make = (dataDir: string): Effect.Effect<JobFiles.JobFilesShape, JobFiles.JobFilesError> =>
  Effect.gen(function* () {
    const root = join(dataDir, "jobs")
    yield* Effect.tryPromise({
      try: () => mkdir(root, { recursive: true }),
      catch: (cause) => new JobFiles.JobFilesError({ operation: `create ${root}`, cause })
    })
    const folder = (jobId: string) => join(root, jobId)

    /** The real path of an existing regular file inside the job's real folder, or NoSuchFile. */
    const resolve = (jobId: string, path: string) =>
      Effect.gen(function* () {
        const parts = yield* JobFiles.checkPath(jobId, path)
        const missing = () => new JobFiles.NoSuchFile({ jobId, path })
        const found = yield* Effect.tryPromise({
          try: async () => {
            const [real, realRoot] = await Promise.all([
              realpath(join(folder(jobId), ...parts)),
              realpath(folder(jobId))
            ])
            const inside = relative(realRoot, real)
            const isFile = (await stat(real)).isFile()
            return inside !== "" && !inside.startsWith("..") && !inside.startsWith(sep) && isFile ? real : undefined
          },
          catch: missing
        })
        return found === undefined ? yield* Effect.fail(missing()) : found
      })

    return {
      folder,
      write: (jobId, path, bytes) =>
        Effect.flatMap(JobFiles.checkPath(jobId, path), (parts) =>
          Effect.tryPromise({
            try: async () => {
              const target = join(folder(jobId), ...parts)
              await mkdir(dirname(target), { recursive: true })
              await writeFile(target, bytes)
            },
            catch: (cause) => new JobFiles.JobFilesError({ operation: `write ${jobId}/${path}`, cause })
          })
        ),
      resolve,
      read: (jobId, path) =>
        Effect.flatMap(resolve(jobId, path), (real) =>
          Effect.tryPromise({
            try: () => readFile(real),
            catch: () => new JobFiles.NoSuchFile({ jobId, path })
          }).pipe(Effect.map((buffer) => new Uint8Array(buffer)))
        ),
      remove: (jobId) =>
        // A malformed id names no folder of ours; never hand it to rm.
        JobFiles.checkPath(jobId, "x").pipe(
          Effect.matchEffect({
            onFailure: () => Effect.void,
            onSuccess: () =>
              Effect.tryPromise({
                try: () => rm(folder(jobId), { recursive: true, force: true }),
                catch: (cause) => new JobFiles.JobFilesError({ operation: `remove ${jobId}`, cause })
              })
          })
        )
    } satisfies JobFiles.JobFilesShape
  })

/**
 * The adapter as a layer.
 *
 * @category layers
 */
export const layer = (dataDir: string): Layer.Layer<JobFiles.JobFiles, JobFiles.JobFilesError> =>
  Layer.effect(JobFiles.JobFiles, make(dataDir))
