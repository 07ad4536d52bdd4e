/**
 * Reading and writing the data files GIS users trade — zipped shapefiles, GeoJSON, CSV with coordinate or WKT
 * columns, KML/KMZ, GeoPackage and FlatGeobuf — as Esri JSON feature sets, each through a kept library (see the
 * `*Format` modules). `read` detects the format from the bytes (or the file name) unless told, and keeps the file's
 * coordinate system unless asked for another; `write` answers the bytes with their media type and file extension.
 * Every failure is a tagged `DataFormatError` naming the problem. Each format's module (and its libraries: JSZip,
 * shapefile, xmldom, flatgeobuf, wkx…) is imported the first time that format is read or written, so a process that
 * only names formats — the server's main thread reading the built-in tools' parameters — never loads them.
 *
 * @module
 */
import { Effect } from "effect"
import { unzipSync } from "fflate"
import type * as CsvFormat from "./CsvFormat.ts"
import { type DataFormatError, UnknownFormat } from "./DataFormatError.ts"
import type { EsriFeatureSet, SpatialReference, SpatialReferenceId } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

export * from "./DataFormatError.ts"

// Imported on first use (see the module's header); `import()` caches each module.
const modules = {
  shapefile: () => import("./ShapefileFormat.ts"),
  geojson: () => import("./GeoJsonFormat.ts"),
  csv: () => import("./CsvFormat.ts"),
  kml: () => import("./KmlFormat.ts"),
  geopackage: () => import("./GeoPackageFormat.ts"),
  flatgeobuf: () => import("./FlatGeobufFormat.ts")
}
const load = <K extends keyof typeof modules>(key: K): Effect.Effect<Awaited<ReturnType<(typeof modules)[K]>>> =>
  Effect.promise(() => modules[key]() as Promise<Awaited<ReturnType<(typeof modules)[K]>>>)

/** The formats read. @category models */
export const formats = ["shapefile", "geojson", "csv", "kml", "kmz", "geopackage", "flatgeobuf"] as const

/** @category models */
export type Format = (typeof formats)[number]

/** The formats written. @category models */
export const writableFormats = ["shapefile", "geojson", "csv", "kml", "kmz", "geopackage"] as const

/** @category models */
export type WritableFormat = (typeof writableFormats)[number]

/** How a format is served and named. @category models */
export interface FormatInfo {
  readonly displayName: string
  readonly mediaType: string
  /** With its dot: `.zip`, `.geojson`, … */
  readonly extension: string
}

/** @category models */
export const info: { readonly [F in Format]: FormatInfo } = {
  shapefile: { displayName: "Shapefile (zipped)", mediaType: "application/zip", extension: ".zip" },
  geojson: { displayName: "GeoJSON", mediaType: "application/geo+json", extension: ".geojson" },
  csv: { displayName: "CSV", mediaType: "text/csv", extension: ".csv" },
  kml: { displayName: "KML", mediaType: "application/vnd.google-earth.kml+xml", extension: ".kml" },
  kmz: { displayName: "KMZ", mediaType: "application/vnd.google-earth.kmz", extension: ".kmz" },
  geopackage: { displayName: "GeoPackage", mediaType: "application/geopackage+sqlite3", extension: ".gpkg" },
  flatgeobuf: { displayName: "FlatGeobuf", mediaType: "application/flatgeobuf", extension: ".fgb" }
}

const aliases: Readonly<Record<string, Format>> = {
  shapefile: "shapefile",
  shp: "shapefile",
  zip: "shapefile",
  "shapefile zip": "shapefile",
  geojson: "geojson",
  json: "geojson",
  csv: "csv",
  txt: "csv",
  kml: "kml",
  kmz: "kmz",
  geopackage: "geopackage",
  gpkg: "geopackage",
  flatgeobuf: "flatgeobuf",
  fgb: "flatgeobuf"
}

/**
 * A format from its name, an alias (`shp`, `gpkg`, `fgb`, `json`), a file extension (`.gpkg`) or a media type.
 *
 * @category constructors
 */
export const parseFormat = (name: string): Effect.Effect<Format, UnknownFormat> => {
  const key = name.trim().toLowerCase().replace(/^\./, "")
  const found = aliases[key] ?? formats.find((f) => info[f].mediaType === key)
  return found === undefined
    ? Effect.fail(
        new UnknownFormat({ format: name, detail: `use one of ${formats.join(", ")} (or shp, gpkg, fgb, json)` })
      )
    : Effect.succeed(found)
}

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>) => magic.every((b, i) => bytes[i] === b)

/**
 * The format of some bytes: zip archives by what they hold (a `.shp` or a `.kml`), SQLite (GeoPackage) and FlatGeobuf
 * by their magic numbers, text by its first characters; the file name's extension decides what the bytes leave open.
 *
 * @category constructors
 */
export const detect = (bytes: Uint8Array, fileName?: string): Effect.Effect<Format, UnknownFormat> => {
  const extension = fileName === undefined ? undefined : /\.([^./]+)$/.exec(fileName)?.[1]?.toLowerCase()
  const byName = extension === undefined ? undefined : aliases[extension]
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    let listed: Array<string> = []
    try {
      // Lists the entries without inflating any.
      unzipSync(bytes, {
        filter: (f) => {
          listed.push(f.name.toLowerCase())
          return false
        }
      })
    } catch {
      return Effect.succeed(byName === "kmz" ? "kmz" : "shapefile")
    }
    listed = listed.filter((n) => !n.startsWith("__macosx/"))
    if (listed.some((n) => n.endsWith(".shp"))) return Effect.succeed("shapefile")
    if (listed.some((n) => n.endsWith(".kml"))) return Effect.succeed("kmz")
    return Effect.fail(
      new UnknownFormat({
        detail: `a zip archive holding neither a shapefile (.shp) nor KML (${listed.slice(0, 5).join(", ")})`
      })
    )
  }
  if (startsWith(bytes, [...new TextEncoder().encode("SQLite format 3"), 0])) return Effect.succeed("geopackage")
  if (startsWith(bytes, [0x66, 0x67, 0x62, 0x03])) return Effect.succeed("flatgeobuf")
  if (
    byName !== undefined &&
    byName !== "shapefile" &&
    byName !== "kmz" &&
    byName !== "geopackage" &&
    byName !== "flatgeobuf"
  ) {
    return Effect.succeed(byName)
  }
  const head = new TextDecoder()
    .decode(bytes.subarray(0, 4096))
    .replace(/^\uFEFF/, "")
    .trimStart()
  if (head.startsWith("{")) return Effect.succeed("geojson")
  if (head.startsWith("<") && /<kml[\s>]/.test(head)) return Effect.succeed("kml")
  const firstLine = head.split(/\r?\n/, 1)[0] ?? ""
  const binary = bytes.subarray(0, 4096).some((b) => b < 9)
  if (head.length > 0 && !binary && !head.startsWith("<") && /[,;\t]/.test(firstLine)) {
    return Effect.succeed("csv")
  }
  return Effect.fail(
    new UnknownFormat({
      detail: `the bytes are none of ${formats.join(", ")}${fileName === undefined ? "" : ` (file ${fileName})`}`
    })
  )
}

/** How to read a file. @category models */
export interface ReadOptions {
  /** The format; detected from the bytes (and `fileName`) when absent. */
  readonly format?: Format | string | undefined
  readonly fileName?: string | undefined
  /** Which layer of a zip of shapefiles or of a GeoPackage; the first when absent. */
  readonly layer?: string | undefined
  /** Reproject the features into this coordinate system; the file's own when absent. */
  readonly outSR?: SpatialReferenceId | SpatialReference | undefined
  /** Which CSV columns hold the geometry, and in which coordinate system. */
  readonly csv?: CsvFormat.CsvOptions | undefined
}

const stem = (fileName: string | undefined) =>
  fileName === undefined ? undefined : fileName.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "") || undefined

/**
 * Reads a file into a layer (its geometries as GeoJSON in the file's coordinate system, or `outSR`'s).
 *
 * @category constructors
 */
export const readLayer = (
  bytes: Uint8Array,
  options: ReadOptions = {}
): Effect.Effect<FeatureLayer.FeatureLayer, DataFormatError> =>
  Effect.gen(function* () {
    const format =
      options.format === undefined ? yield* detect(bytes, options.fileName) : yield* parseFormat(options.format)
    const name = stem(options.fileName) ?? "features"
    const layer: FeatureLayer.FeatureLayer = yield* (() => {
      switch (format) {
        case "shapefile":
          return Effect.flatMap(load("shapefile"), (m) => m.read(bytes, options.layer))
        case "geojson":
          return Effect.flatMap(load("geojson"), (m) => m.read(bytes, name))
        case "csv":
          return Effect.flatMap(load("csv"), (m) => m.read(bytes, options.csv, name))
        case "kml":
          return Effect.flatMap(load("kml"), (m) => m.readKml(bytes, name))
        case "kmz":
          return Effect.flatMap(load("kml"), (m) => m.readKmz(bytes, name))
        case "geopackage":
          return Effect.flatMap(load("geopackage"), (m) => m.read(bytes, options.layer))
        case "flatgeobuf":
          return Effect.flatMap(load("flatgeobuf"), (m) => m.read(bytes, name))
      }
    })()
    return options.outSR === undefined ? layer : yield* FeatureLayer.project(layer, options.outSR)
  })

/**
 * Reads a file as an Esri JSON feature set (the value a GPFeatureRecordSetLayer parameter takes).
 *
 * @category constructors
 */
export const read = (bytes: Uint8Array, options: ReadOptions = {}): Effect.Effect<EsriFeatureSet, DataFormatError> =>
  Effect.map(readLayer(bytes, options), FeatureLayer.toFeatureSet)

/** How to write a file. @category models */
export interface WriteOptions {
  /**
   * The coordinate system to write in. By default the features' own, except GeoJSON and KML, written in WGS84 as
   * RFC 7946 and KML have it (KML is always WGS84).
   */
  readonly outSR?: SpatialReferenceId | SpatialReference | undefined
  /** The layer (table, file) name; `features` by default. */
  readonly name?: string | undefined
}

/** A written file. @category models */
export interface Written {
  readonly bytes: Uint8Array
  readonly format: WritableFormat
  readonly mediaType: string
  /** With its dot. */
  readonly extension: string
  /** The layer name and the extension, e.g. `parcels.gpkg`. */
  readonly fileName: string
}

/**
 * Writes a layer in a format.
 *
 * @category constructors
 */
export const writeLayer = (
  input: FeatureLayer.FeatureLayer,
  format: Format | string,
  options: WriteOptions = {}
): Effect.Effect<Written, DataFormatError> =>
  Effect.gen(function* () {
    const chosen = yield* parseFormat(format)
    if (chosen === "flatgeobuf") {
      return yield* new UnknownFormat({
        format,
        detail: `FlatGeobuf is read only; write one of ${writableFormats.join(", ")}`
      })
    }
    const named = options.name === undefined ? input : { ...input, name: options.name }
    const wgs84Only = chosen === "kml" || chosen === "kmz"
    const target = wgs84Only ? 4326 : (options.outSR ?? (chosen === "geojson" ? 4326 : undefined))
    const layer = target === undefined ? named : yield* FeatureLayer.project(named, target)
    const bytes: Uint8Array = yield* (() => {
      switch (chosen) {
        case "shapefile":
          return Effect.flatMap(load("shapefile"), (m) => m.write(layer))
        case "geojson":
          return Effect.map(load("geojson"), (m) => m.write(layer))
        case "csv":
          return Effect.flatMap(load("csv"), (m) => m.write(layer))
        case "kml":
          return Effect.flatMap(load("kml"), (m) => m.writeKml(layer))
        case "kmz":
          return Effect.flatMap(load("kml"), (m) => m.writeKmz(layer))
        case "geopackage":
          return Effect.flatMap(load("geopackage"), (m) => m.write(layer))
      }
    })()
    const { mediaType, extension } = info[chosen]
    return {
      bytes,
      format: chosen,
      mediaType,
      extension,
      fileName: `${FeatureLayer.safeName(layer.name)}${extension}`
    }
  })

/**
 * Writes an Esri JSON feature set (a GPFeatureRecordSetLayer value) in a format.
 *
 * @category constructors
 */
export const write = (
  featureSet: unknown,
  format: Format | string,
  options: WriteOptions = {}
): Effect.Effect<Written, DataFormatError> =>
  Effect.flatMap(FeatureLayer.fromFeatureSet(featureSet, options.name ?? "features"), (layer) =>
    writeLayer(layer, format, options)
  )

/**
 * Runs a data-format effect for a tool: resolves with its value, or rejects with an `Error` carrying the problem's
 * message (a tool fails its job by throwing; see `Tool.ts`).
 *
 * @category combinators
 */
export const runForTool = async <A>(effect: Effect.Effect<A, DataFormatError>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (exit._tag === "Success") return exit.value
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (failure !== undefined && failure._tag === "Fail") throw new Error(failure.error.message)
  throw new Error(String(exit.cause))
}
