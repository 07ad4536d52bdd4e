/**
 * Results as files, and big results as JSON, made without holding the event loop. A feature set of a few thousand
 * polygons is megabytes: decoding it, writing it as a GeoPackage or a shapefile, reprojecting it or turning it into
 * GeoJSON is tens to hundreds of milliseconds in one step. So the value goes, as its JSON text or the path of the
 * file its store keeps it in (core's `EncodedValue.encode`), to a worker thread (`ResultFilesWorker`) that decodes,
 * converts and encodes it there, and only the bytes come back, moved rather than copied. The pool starts on the first
 * conversion, idles out, and is destroyed when the app closes (as `RequestBody`'s).
 *
 * Also owns how files are named on the wire: the media type of a file by its extension and the
 * `Content-Disposition` of a download (RFC 6266).
 *
 * @module
 */
import { extname } from "node:path"
import type { EncodedValue } from "@geojobs/core"
import * as SidePool from "@geojobs/engine/SidePool"
import { Effect } from "effect"
import type { FastifyInstance } from "fastify"
import type { FileFormat } from "./ArcGISRequest.ts"
import { InvalidInput } from "./Failure.ts"
import type { Done, FileTask, JsonTask, Task } from "./ResultFilesWorker.ts"

export type { Done, FileTask, JsonTask, Task }

/**
 * Values from this size of JSON text on (or kept in a file by their store) are encoded in the worker even when
 * nothing reshapes them (64 KiB: a few ms inline, as `RequestBody.offThreadBytes`).
 *
 * @category models
 */
export const offThreadBytes = 64 * 1024

/**
 * The file formats each data type can be fetched in: any file of features for a feature set, CSV for a table (the
 * other formats hold geometries).
 *
 * @category models
 */
export const formatsOf: Readonly<Record<string, ReadonlyArray<FileFormat>>> = {
  GPFeatureRecordSetLayer: ["shapefile", "csv", "kml", "kmz", "geopackage"],
  GPRecordSet: ["csv"]
}

/**
 * Runs conversions in the pool.
 *
 * @category models
 */
export interface Converter {
  readonly run: (task: Task) => Promise<Done>
}

const workerUrl = new URL(`./ResultFilesWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

/**
 * The converter of `app`: its thread pool starts on the first conversion, idles out, and is destroyed when the app
 * closes.
 *
 * @category constructors
 */
export const register = (app: FastifyInstance): Converter => {
  const pool = SidePool.make<Task, Done>(workerUrl)
  let closed = false
  app.addHook("onClose", async () => {
    closed = true
    await pool.destroy()
  })
  return {
    run: (task) => (closed ? Promise.reject(new Error("the server is closing")) : pool.run(task))
  }
}

/**
 * Runs a conversion: its bytes, or the request's problem as a 400 naming `f` or `outSR`. A thread that fails (it
 * crashed, the pool is closing) is a defect: a 500 that hides it.
 *
 * @category constructors
 */
export const convert = (
  converter: Converter,
  task: Task
): Effect.Effect<Extract<Done, { _tag: "bytes" }>, InvalidInput> =>
  Effect.flatMap(
    Effect.promise(() => converter.run(task)),
    (done) =>
      done._tag === "bytes"
        ? Effect.succeed(done)
        : Effect.fail(new InvalidInput({ parameter: done.parameter, detail: done.detail }))
  )

/**
 * Whether a value is big enough to be encoded off the main thread: kept in a file, or long JSON text.
 *
 * @category guards
 */
export const isBig = (encoded: EncodedValue.EncodedValue): boolean =>
  encoded.file !== undefined || encoded.json.length >= offThreadBytes

// The types of the files tools write most (the GIS formats as the tools' DataFormat.info has them; a test keeps
// them in step), so that a browser or a GIS client knows what it downloads. Anything else is a download of bytes.
const mediaTypes: Readonly<Record<string, string>> = {
  ".zip": "application/zip",
  ".geojson": "application/geo+json",
  ".csv": "text/csv; charset=utf-8",
  ".kml": "application/vnd.google-earth.kml+xml",
  ".kmz": "application/vnd.google-earth.kmz",
  ".gpkg": "application/geopackage+sqlite3",
  ".fgb": "application/flatgeobuf",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".xml": "application/xml",
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".las": "application/vnd.las",
  ".laz": "application/vnd.laszip"
}

/**
 * The media type of a file by its extension (`application/octet-stream` when it is none GeoJobs knows).
 *
 * @category constructors
 */
export const mediaTypeOf = (fileName: string): string => {
  const extension = extname(fileName).toLowerCase()
  return Object.hasOwn(mediaTypes, extension) ? (mediaTypes[extension] as string) : "application/octet-stream"
}

/**
 * `Content-Disposition: attachment` for a file name (RFC 6266): `filename` quoted, in ASCII (anything else, quotes,
 * backslashes and control characters as `_`), and `filename*` in UTF-8 (RFC 8187) when the name is not plain ASCII.
 * Only the name's last path segment is used.
 *
 * @category constructors
 */
export const contentDisposition = (fileName: string): string => {
  const name = fileName.replace(/^.*[\\/]/, "") || "download"
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_")
  if (ascii === name) return `attachment; filename="${ascii}"`
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
