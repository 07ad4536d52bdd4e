/**
 * The worker thread of `InputDecoder`: decodes and checks a big submission's parameters (`GPValue.decodeInputs`) and
 * answers the values as JSON text, so that the main thread neither parses nor checks megabytes of features.
 *
 * @module
 */
import * as EncodedValue from "@geojobs/core/EncodedValue"
import * as GPValue from "@geojobs/tools/GPValue"
import type * as Tool from "@geojobs/tools/Tool"
import { Effect, Result } from "effect"
import * as ThreadPriority from "./ThreadPriority.ts"

/** What to decode: the task's parameters and the submitted fields. */
export interface Task {
  readonly parameters: ReadonlyArray<Tool.Parameter>
  readonly raw: Readonly<Record<string, unknown>>
}

/** The values as text, or why one parameter was refused. */
export type Decoded =
  | { readonly ok: true; readonly values: EncodedValue.EncodedValues }
  | {
      readonly ok: false
      readonly invalid: { readonly parameter: string; readonly expected: string; readonly received: string }
    }

// A decode is on a submission's path: ahead of the tool threads (nice 10), as the body parser is.
ThreadPriority.lowerThisThread(5)

export default (task: Task): Decoded => {
  const tool: Tool.ToolDefinition = { name: "", parameters: task.parameters, execute: () => ({}) }
  const result = Effect.runSync(Effect.result(GPValue.decodeInputs(tool, task.raw)))
  return Result.isSuccess(result)
    ? { ok: true, values: EncodedValue.encodeAll(result.success) }
    : {
        ok: false,
        invalid: {
          parameter: result.failure.parameter,
          expected: result.failure.expected,
          received: result.failure.received
        }
      }
}
