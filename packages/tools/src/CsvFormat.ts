/**
 * CSV files of features (papaparse for the text, wkx for WKT): each row a feature, its geometry in a WKT column
 * (`WKT`, `geometry`, `the_geom`, `geom`, `shape`) or a pair of coordinate columns (`x`/`y`, `lon`/`lat`,
 * `longitude`/`latitude`, `lng`, `easting`/`northing`), any case, or the columns named in the options; a CSV with none
 * is a table whose features have no geometry. Column types are read off the values (integer, double, ISO 8601 date,
 * string); an empty cell is `null`. Written with the geometry as WKT in the first column, `WKT`, which GDAL and QGIS
 * read as the geometry.
 *
 * @module
 */
import { Effect } from "effect"
import type { Geometry } from "geojson"
import Papa from "papaparse"
import wkx from "wkx"
import { CannotWrite, describe, MissingPart, UnreadableData } from "./DataFormatError.ts"
import type { SpatialReference } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

const format = "CSV"

/** Which columns hold the geometry, when not found by name. @category models */
export interface CsvOptions {
  readonly wktColumn?: string | undefined
  readonly xColumn?: string | undefined
  readonly yColumn?: string | undefined
  /** The coordinate system of the coordinates; WGS84 by default. */
  readonly spatialReference?: SpatialReference | undefined
}

const wktNames = ["wkt", "geometry", "the_geom", "geom", "shape", "wkt_geom"]
const xNames = ["x", "lon", "long", "longitude", "lng", "easting"]
const yNames = ["y", "lat", "latitude", "northing"]

const find = (columns: ReadonlyArray<string>, wanted: string | undefined, names: ReadonlyArray<string>) => {
  if (wanted !== undefined) return columns.find((c) => c.toLowerCase() === wanted.toLowerCase())
  return names.map((n) => columns.find((c) => c.trim().toLowerCase() === n)).find((c) => c !== undefined)
}

/**
 * Reads CSV bytes (UTF-8, a BOM skipped) into a layer.
 *
 * @category constructors
 */
export const read = (
  bytes: Uint8Array,
  options: CsvOptions = {},
  name = "features"
): Effect.Effect<FeatureLayer.FeatureLayer, UnreadableData | MissingPart> =>
  Effect.gen(function* () {
    const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, "")
    const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true })
    const fatal = parsed.errors.find((e) => e.type !== "FieldMismatch" || e.code === "TooManyFields")
    if (fatal !== undefined) {
      return yield* new UnreadableData({ format, detail: `row ${(fatal.row ?? 0) + 2}: ${fatal.message}` })
    }
    const columns = parsed.meta.fields ?? []
    for (const [option, column] of [
      ["wktColumn", options.wktColumn],
      ["xColumn", options.xColumn],
      ["yColumn", options.yColumn]
    ] as const) {
      if (column !== undefined && find(columns, column, []) === undefined) {
        return yield* new MissingPart({
          format,
          part: `column ${JSON.stringify(column)}`,
          detail: `${option} names a column the file does not have (it has ${columns.join(", ")})`
        })
      }
    }
    const wktColumn = options.xColumn === undefined ? find(columns, options.wktColumn, wktNames) : undefined
    const xColumn = wktColumn === undefined ? find(columns, options.xColumn, xNames) : undefined
    const yColumn = wktColumn === undefined ? find(columns, options.yColumn, yNames) : undefined
    if ((xColumn === undefined) !== (yColumn === undefined)) {
      return yield* new MissingPart({
        format,
        part: xColumn === undefined ? "x (longitude) column" : "y (latitude) column"
      })
    }
    const geometryColumns = new Set([wktColumn, xColumn, yColumn].filter((c) => c !== undefined))
    const names = columns.filter((c) => !geometryColumns.has(c))
    const geometries: Array<Geometry | null> = []
    for (const [i, row] of parsed.data.entries()) {
      const at = `row ${i + 2}`
      if (wktColumn !== undefined) {
        const wkt = row[wktColumn]?.trim() ?? ""
        if (wkt === "") {
          geometries.push(null)
          continue
        }
        const geometry = yield* Effect.try({
          try: () => wkx.Geometry.parse(wkt).toGeoJSON() as Geometry,
          catch: (cause) =>
            new UnreadableData({ format, detail: `${at}: the ${wktColumn} is not WKT (${describe(cause)})` })
        })
        geometries.push(geometry)
      } else if (xColumn !== undefined && yColumn !== undefined) {
        const [x, y] = [row[xColumn]?.trim() ?? "", row[yColumn]?.trim() ?? ""]
        if (x === "" && y === "") {
          geometries.push(null)
          continue
        }
        if (!Number.isFinite(Number(x)) || !Number.isFinite(Number(y)) || x === "" || y === "") {
          return yield* new UnreadableData({
            format,
            detail: `${at}: coordinates ${JSON.stringify(x)}, ${JSON.stringify(y)} are not numbers`
          })
        }
        geometries.push({ type: "Point", coordinates: [Number(x), Number(y)] })
      } else geometries.push(null)
    }
    const typed = FeatureLayer.typeColumns(names, parsed.data)
    return yield* FeatureLayer.make(format, {
      name,
      spatialReference: options.spatialReference ?? { wkid: 4326, latestWkid: 4326 },
      fields: typed.fields,
      features: typed.rows.map((attributes, i) => ({ geometry: geometries[i] ?? null, attributes }))
    })
  })

/**
 * Writes a layer as CSV: a `WKT` column (when the layer has geometries) and one column per field; dates as ISO 8601,
 * `null` as an empty cell.
 *
 * @category constructors
 */
export const write = (layer: FeatureLayer.FeatureLayer): Effect.Effect<Uint8Array, CannotWrite> =>
  Effect.try({
    try: () => {
      const fields = FeatureLayer.allFields(layer)
      const withGeometry = layer.geometryType !== undefined || layer.features.some((f) => f.geometry !== null)
      const header = [...(withGeometry ? ["WKT"] : []), ...fields.map((f) => f.name)]
      const rows = layer.features.map((f) => [
        ...(withGeometry ? [f.geometry === null ? "" : wkx.Geometry.parseGeoJSON(f.geometry).toWkt()] : []),
        ...fields.map((field) => FeatureLayer.textOf(field, f.attributes[field.name]) ?? "")
      ])
      return new TextEncoder().encode(`${Papa.unparse({ fields: header, data: rows }, { newline: "\n" })}\n`)
    },
    catch: (cause) => new CannotWrite({ format, detail: describe(cause) })
  })
