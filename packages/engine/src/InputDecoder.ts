/**
 * Decoding a submission's parameters into a job's values without holding the event loop. A 3 MB feature set is a
 * JSON parse and a schema check of several milliseconds (the 2026-12-03 load bench: `GPValue`'s decoding was the
 * main thread's largest remaining step per submission), so a submission with big fields is decoded in a worker
 * thread, which answers the values as text (core's `EncodedValue`: the main thread passes it on to the store as it
 * is). Small submissions, most of them, are decoded inline: a thread hop costs more than they do.
 *
 * @module
 */
import { EncodedValue, type Job } from "@geojobs/core"
import { GPValue, type Tool } from "@geojobs/tools"
import { Effect } from "effect"
import type { Decoded, Task } from "./InputDecoderWorker.ts"
import * as SidePool from "./SidePool.ts"

/**
 * Submissions whose fields hold at least this many characters in all are decoded in the worker thread (64 KiB: a
 * few milliseconds inline).
 *
 * @category models
 */
export const offThreadChars = 64 * 1024

const workerUrl = new URL(`./InputDecoderWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url)
  .href

// One thread for the process, started on the first big submission and let go when idle: decoding is short.
const pool = SidePool.make<Task, Decoded>(workerUrl, { maxThreads: 1, idleTimeoutMs: 10_000 })

const sizeOf = (raw: Readonly<Record<string, unknown>>) => {
  let chars = 0
  for (const value of Object.values(raw)) {
    if (typeof value === "string") chars += value.length
    // A JSON body's fields may come as objects: counted by a cheap upper bound of their size, never encoded here.
    else if (typeof value === "object" && value !== null) return offThreadChars
  }
  return chars
}

/**
 * `GPValue.decodeInputs` of `tool`, off the main thread when the submission is big. A worker that cannot run (its
 * thread failed to start) leaves the decode to this thread: the answer is the same, only slower.
 *
 * @category constructors
 */
export const decodeInputs = (
  tool: Tool.ToolDefinition,
  raw: Readonly<Record<string, unknown>>
): Effect.Effect<Record<string, Job.JobValue>, GPValue.InvalidParameter> => {
  if (sizeOf(raw) < offThreadChars) return GPValue.decodeInputs(tool, raw)
  return Effect.flatMap(
    Effect.promise(() => pool.run({ parameters: tool.parameters, raw }).catch(() => undefined)),
    (decoded) =>
      decoded === undefined
        ? GPValue.decodeInputs(tool, raw)
        : decoded.ok
          ? Effect.succeed({ ...EncodedValue.decodeAll(decoded.values) })
          : Effect.fail(new GPValue.InvalidParameter(decoded.invalid))
  )
}

/**
 * Stops the thread (tests, and a process that is ending).
 *
 * @category destructors
 */
export const close = (): Promise<void> => pool.destroy()
