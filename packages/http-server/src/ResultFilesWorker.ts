/**
 * The worker thread of `ResultFiles`: turns job values into the bytes a result request answers — a feature set as a
 * file (shapefile zip, CSV, KML, KMZ, GeoPackage, through the tools' `DataFormat`), or parameter documents in JSON
 * with feature sets reshaped (GeoJSON for `f=geojson`, another spatial reference for `outSR`). A value arrives as
 * its JSON text or the path of the file a store keeps it in, and is decoded here, so that the main thread neither
 * decodes, converts nor encodes megabytes; the bytes go back as a transferred buffer.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import type { EncodedValue } from "@geojobs/core"
import * as ThreadPriority from "@geojobs/engine/ThreadPriority"
import * as DataFormat from "@geojobs/tools/DataFormat"
import * as EsriGeometry from "@geojobs/tools/EsriGeometry"
import { Effect } from "effect"
import { move, transferableSymbol, valueSymbol } from "piscina"
import type { FileFormat } from "./ArcGISRequest.ts"

/** One value to convert: a feature set (or record set) into a file. */
export interface FileTask {
  readonly kind: "file"
  readonly value: EncodedValue.EncodedValue
  readonly format: FileFormat
  /** The layer (table, file) name inside the file: the parameter's name. */
  readonly name: string
  /** A wkid or spatial-reference JSON, as the request gave it. */
  readonly outSR: string | undefined
}

/** Parameter documents to write as JSON text, feature sets reshaped as asked. */
export interface JsonTask {
  readonly kind: "json"
  readonly values: ReadonlyArray<{ readonly name: string; readonly value: EncodedValue.EncodedValue }>
  /** One parameter (`results/<param>`: its document, or for GeoJSON the value alone) or all of them (an array). */
  readonly single: boolean
  readonly geojson: boolean
  readonly outSR: string | undefined
  readonly pretty: boolean
}

/** What the thread is asked. */
export type Task = FileTask | JsonTask

/** What it answers: the bytes (with their media type and extension for a file), or what was wrong with the request. */
export type Done =
  | {
      readonly _tag: "bytes"
      readonly bytes: Uint8Array
      readonly mediaType: string
      /** With its dot (`.gpkg`); empty for JSON. */
      readonly extension: string
    }
  | { readonly _tag: "refused"; readonly parameter: "f" | "outSR"; readonly detail: string }

// Below the main thread, as the request-body parser: a conversion is on a request's path, but batch work next to it.
ThreadPriority.lowerThisThread(5)

const decode = (value: EncodedValue.EncodedValue): unknown => {
  const text = value.file === undefined ? value.json : readFileSync(value.file, "utf8")
  return text === "" ? undefined : JSON.parse(text)
}

const isFeatureSet = (dataType: string, value: unknown) =>
  dataType === "GPFeatureRecordSetLayer" && value !== null && typeof value === "object"

const message = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

/** A feature set as asked (GeoJSON, or reprojected to outSR); any other value as it is. Throws on a bad outSR. */
const shape = (task: JsonTask, dataType: string, value: unknown): unknown => {
  if (!isFeatureSet(dataType, value)) return value
  if (task.geojson) return EsriGeometry.toGeoJSON(value).features
  if (task.outSR === undefined) return value
  // outSR is a wkid, or spatial-reference JSON, which projection() reads as it is.
  const read = EsriGeometry.toGeoJSON(value)
  return EsriGeometry.fromGeoJSON(read.features, {
    wkid: task.outSR,
    fields: read.fields,
    geometryType: read.geometryType
  })
}

/** The bytes as the owner of all of their buffer, so that the buffer can move to the main thread without a copy. */
const owned = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : bytes.slice()

// piscina moves what a transferable wrapper lists, and posts the wrapper's value: the answer with its buffer moved.
const moved = (done: Extract<Done, { _tag: "bytes" }>, bytes: Uint8Array<ArrayBuffer>) =>
  move({
    get [transferableSymbol]() {
      return [bytes.buffer]
    },
    get [valueSymbol]() {
      return { ...done, bytes }
    }
  }) as unknown as Done

const json = (task: JsonTask): Done => {
  let docs: Array<unknown>
  try {
    docs = task.values.map(({ name, value }) => {
      const shaped = shape(task, value.dataType, decode(value))
      return task.single && task.geojson ? shaped : { paramName: name, dataType: value.dataType, value: shaped }
    })
  } catch (cause) {
    return { _tag: "refused", parameter: "outSR", detail: `outSR: ${message(cause)}` }
  }
  const doc = task.single ? docs[0] : docs
  const text = task.pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc)
  const bytes = owned(new TextEncoder().encode(text ?? "null"))
  return moved({ _tag: "bytes", bytes, mediaType: "", extension: "" }, bytes)
}

const file = async (task: FileTask): Promise<Done> => {
  const exit = await Effect.runPromiseExit(
    DataFormat.write(decode(task.value), task.format, { name: task.name, outSR: task.outSR })
  )
  if (exit._tag === "Success") {
    const bytes = owned(exit.value.bytes)
    return moved({ _tag: "bytes", bytes, mediaType: exit.value.mediaType, extension: exit.value.extension }, bytes)
  }
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure === undefined || failure._tag !== "Fail") throw new Error(String(exit.cause))
  const error = failure.error
  // A coordinate system the writer cannot project to is the caller's outSR; anything else is this value in this format.
  return error._tag === "UnknownCoordinateSystem"
    ? { _tag: "refused", parameter: "outSR", detail: `outSR: ${error.message}` }
    : {
        _tag: "refused",
        parameter: "f",
        detail: `f: ${task.name} cannot be written as ${DataFormat.info[task.format].displayName}: ${error.message}`
      }
}

/** Runs one task (piscina calls this). */
export default function run(task: Task): Done | Promise<Done> {
  return task.kind === "json" ? json(task) : file(task)
}
