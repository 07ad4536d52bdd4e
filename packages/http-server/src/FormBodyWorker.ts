/**
 * The worker thread of `FormBody`: decodes a form body and finds the first field whose JSON nests deeper than
 * `ArcGISRequest.maxJsonDepth`, so that the main thread neither decodes nor scans megabytes.
 *
 * @module
 */
import * as ThreadPriority from "@geojobs/core/ThreadPriority"
import { parse } from "fast-querystring"
import { maxJsonDepth, textDepth } from "./ArcGISRequest.ts"

/**
 * A parsed body: its fields (a repeated field as an array, as `fast-querystring` gives it) and the first field nested
 * too deeply, if any.
 *
 * @category models
 */
export interface Parsed {
  readonly fields: Readonly<Record<string, string | ReadonlyArray<string>>>
  readonly deep: string | undefined
}

const tooDeep = (value: string) =>
  (value.includes("[") || value.includes("{")) && textDepth(value, maxJsonDepth) > maxJsonDepth

// Below the main thread, as the tool threads (nice 10) but ahead of them: a parse is on a request's path.
ThreadPriority.lowerThisThread(5)

/** Parses one body (piscina calls this). */
export default function run(body: Uint8Array): Parsed {
  const fields = parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString()) as Record<
    string,
    string | Array<string>
  >
  let deep: string | undefined
  for (const [key, value] of Object.entries(fields)) {
    // As `ArcGISRequest.params` reads it: a repeated field counts by its last value.
    const last = Array.isArray(value) ? value.at(-1) : value
    if (typeof last === "string" && tooDeep(last)) {
      deep = key
      break
    }
  }
  return { fields: { ...fields }, deep }
}
