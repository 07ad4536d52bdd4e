/**
 * Job parameter values as JSON text, for the server's main thread. A value can be megabytes (a feature set of a few
 * thousand polygons); decoding or encoding one is a single blocking step of tens of milliseconds (measured on the
 * 2026-12-02 load bench: 32–105 ms to stringify a 6 MB Buffer result, about as long to parse it or to structured-clone
 * it to a worker). So values cross the main thread as text: the tool's worker encodes its results, the store keeps the
 * text, the next worker decodes it. Where main-thread code does read a value (`value.value`), it is decoded then, once.
 *
 * A value made here keeps its text beside it ({@link textOf} answers it without encoding again) — a value read from
 * a store, or the JSON a client sent ({@link lazy} of that text). Values are immutable, so a value and its text never
 * drift apart.
 *
 * A store may keep a big value's text in a file of its own ({@link inFile}): the main thread then never holds it
 * unless it reads the value — a tool's worker is handed the file's path and reads it there (the 2026-12-03 load
 * profile: reading 3 MB values back from SQLite on the main thread to hand them to workers was its largest cost).
 *
 * @module
 */
import type { JobValue } from "./Job.ts"

/**
 * A value as JSON text: `json` is the text of `value` (empty when the value is `undefined`).
 *
 * @category models
 */
export interface EncodedValue {
  readonly dataType: string
  readonly json: string
  /** When set, the text is in this file (an absolute path) and `json` is empty: read it where it is needed. */
  readonly file?: string | undefined
}

/**
 * Values by parameter name, as text.
 *
 * @category models
 */
export type EncodedValues = Readonly<Record<string, EncodedValue>>

const texts = new WeakMap<JobValue, string>()
const files = new WeakMap<JobValue, { readonly path: string; readonly read: () => string }>()

const encodeValue = (value: unknown): string => (value === undefined ? "" : (JSON.stringify(value) ?? ""))
const decodeValue = (json: string): unknown => (json === "" ? undefined : JSON.parse(json))

/**
 * A value decoded from its text on first read of `value` (and kept); its text stays known.
 *
 * @category constructors
 */
export const lazy = (encoded: EncodedValue): JobValue => {
  let decoded: { readonly value: unknown } | undefined
  const value: JobValue = {
    dataType: encoded.dataType,
    get value() {
      decoded ??= { value: decodeValue(encoded.json) }
      return decoded.value
    }
  }
  texts.set(value, encoded.json)
  return value
}

/**
 * A value whose text is in the file at `path` (an absolute path), read by `read` (a store's file reader: core does no
 * I/O) the first time the text or the value is needed; until then only the path is held.
 *
 * @category constructors
 */
export const inFile = (dataType: string, path: string, read: () => string): JobValue => {
  let decoded: { readonly value: unknown } | undefined
  const value: JobValue = {
    dataType,
    get value() {
      decoded ??= { value: decodeValue(textOf(value)) }
      return decoded.value
    }
  }
  files.set(value, { path, read })
  return value
}

/**
 * The file that holds a value's text, when a store keeps it in one.
 *
 * @category getters
 */
export const fileOf = (value: JobValue): string | undefined => files.get(value)?.path

/**
 * The JSON text of a value: known, read from its file, or encoded now (and remembered).
 *
 * @category destructors
 */
export const textOf = (value: JobValue): string => {
  let json = texts.get(value)
  if (json === undefined) {
    const file = files.get(value)
    json = file === undefined ? encodeValue(value.value) : file.read()
    texts.set(value, json)
  }
  return json
}

/**
 * A value as text — or as the path of its file when its text is in one and not yet read (a worker reads it there).
 *
 * @category destructors
 */
export const encode = (value: JobValue): EncodedValue => {
  const file = files.get(value)
  return file !== undefined && !texts.has(value)
    ? { dataType: value.dataType, json: "", file: file.path }
    : { dataType: value.dataType, json: textOf(value) }
}

/**
 * Values as text, by name (a structured clone of these copies strings only).
 *
 * @category destructors
 */
export const encodeAll = (values: Readonly<Record<string, JobValue>>): EncodedValues =>
  Object.fromEntries(Object.entries(values).map(([name, value]) => [name, encode(value)]))

/**
 * Values from their text, each decoded when first read.
 *
 * @category constructors
 */
export const decodeAll = (encoded: EncodedValues): Readonly<Record<string, JobValue>> =>
  Object.fromEntries(Object.entries(encoded).map(([name, value]) => [name, lazy(value)]))

/**
 * Values from their text, decoded now (in a worker thread, where blocking is fine); `readFile` reads the text of a
 * value given by its file.
 *
 * @category constructors
 */
export const decodeAllNow = (
  encoded: EncodedValues,
  readFile: (path: string) => string
): Readonly<Record<string, unknown>> =>
  Object.fromEntries(
    Object.entries(encoded).map(([name, value]) => [
      name,
      decodeValue(value.file === undefined ? value.json : readFile(value.file))
    ])
  )

/**
 * Encodes plain values now (in a worker thread), typed by `dataTypeOf`.
 *
 * @category constructors
 */
export const encodeAllNow = (
  values: Readonly<Record<string, unknown>>,
  dataTypeOf: (name: string) => string
): EncodedValues =>
  Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, { dataType: dataTypeOf(name), json: encodeValue(value) }])
  )

/**
 * The JSON text of a record of values (`{"name":{"dataType":…,"value":…},…}`, as `JSON.stringify` writes it), built
 * from each value's known text: a store that keeps a job's values as one document writes megabytes without decoding
 * or re-encoding them.
 *
 * @category destructors
 */
export const recordText = (values: Readonly<Record<string, JobValue>>): string =>
  `{${Object.entries(values)
    .map(([name, value]) => {
      const json = textOf(value)
      return `${JSON.stringify(name)}:{"dataType":${JSON.stringify(value.dataType)}${json === "" ? "" : `,"value":${json}`}}`
    })
    .join(",")}}`
