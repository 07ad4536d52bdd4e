/**
 * The worker thread of `RequestBody`: decodes a form or JSON body and finds the first field whose JSON nests deeper
 * than `ArcGISRequest.maxJsonDepth`, so that the main thread neither decodes nor scans megabytes. A JSON body's fields
 * come back as text (JSON text for anything but a string), as `ArcGISRequest.params` reads them anyway.
 *
 * @module
 */
import * as ThreadPriority from "@geojobs/engine/ThreadPriority"
import { parse } from "fast-querystring"
import sjson from "secure-json-parse"
import { fieldText, maxJsonDepth, textDepth, valueDepth } from "./ArcGISRequest.ts"

/**
 * A parsed body: its fields (a repeated field as an array, as `fast-querystring` gives it) and the first field nested
 * too deeply, if any.
 *
 * @category models
 */
export interface Parsed {
  readonly fields: Readonly<Record<string, string | ReadonlyArray<string>>>
  readonly deep: string | undefined
  /** Why a JSON body was refused (not JSON, or a `__proto__`/`constructor.prototype` key, as Fastify refuses them). */
  readonly invalid?: string | undefined
}

/** A body to parse. */
export interface Task {
  readonly kind: "form" | "json"
  readonly body: Uint8Array
}

const tooDeep = (value: string) =>
  (value.includes("[") || value.includes("{")) && textDepth(value, maxJsonDepth) > maxJsonDepth

// Below the main thread, as the tool threads (nice 10) but ahead of them: a parse is on a request's path.
ThreadPriority.lowerThisThread(5)

const form = (text: string): Parsed => {
  const fields = parse(text) as Record<string, string | Array<string>>
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

const json = (text: string): Parsed => {
  let body: unknown
  try {
    body = sjson.parse(text, { protoAction: "error", constructorAction: "error" })
  } catch (error) {
    return { fields: {}, deep: undefined, invalid: error instanceof Error ? error.message : String(error) }
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    // Not a set of fields: nothing to read, only how deep it is (as `ArcGISRequest.tooDeep` judges a body).
    return { fields: {}, deep: valueDepth(body, maxJsonDepth + 1) > maxJsonDepth + 1 ? "the request body" : undefined }
  }
  const fields: Record<string, string> = {}
  let deep: string | undefined
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === undefined || value === null) continue
    // Exactly as `ArcGISRequest.params` and `tooDeep` read a parsed body.
    if (valueDepth(value, maxJsonDepth) > maxJsonDepth) deep ??= key
    fields[key] = fieldText(value)
  }
  return { fields, deep }
}

/** Parses one body (piscina calls this). */
export default function run(task: Task): Parsed {
  const text = Buffer.from(task.body.buffer, task.body.byteOffset, task.body.byteLength).toString()
  return task.kind === "form" ? form(text) : json(text)
}
