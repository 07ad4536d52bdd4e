/**
 * FlatGeobuf files, read with the `flatgeobuf` library: the header's columns give the field types (integers, reals,
 * date-times, booleans as small integers, text), its CRS the spatial reference (an EPSG code, or its WKT). A property
 * a feature leaves out is `null`. Read only: write GeoPackage to hand features on in a binary format.
 *
 * @module
 */
import { Effect } from "effect"
import { deserialize } from "flatgeobuf/lib/mjs/geojson.js"
import type { HeaderMeta } from "flatgeobuf/lib/mjs/header-meta.js"
import type { Geometry } from "geojson"
import { describe, UnreadableData } from "./DataFormatError.ts"
import type { Field, SpatialReference } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

const format = "FlatGeobuf"

// flatgeobuf's ColumnType enum, by value.
const fieldType = (type: number): string =>
  type <= 1 || (type >= 3 && type <= 6)
    ? "esriFieldTypeInteger"
    : type === 2
      ? "esriFieldTypeSmallInteger"
      : type === 7 || type === 8
        ? "esriFieldTypeBigInteger"
        : type === 9 || type === 10
          ? "esriFieldTypeDouble"
          : type === 13
            ? "esriFieldTypeDate"
            : "esriFieldTypeString"

const spatialReferenceOf = (header: HeaderMeta | undefined): SpatialReference => {
  const crs = header?.crs
  if (crs === null || crs === undefined) return { wkid: 4326, latestWkid: 4326 }
  if ((crs.org ?? "EPSG").toUpperCase() === "EPSG" && crs.code > 0) {
    const known = FeatureLayer.spatialReferenceFromWkt(`X["",AUTHORITY["EPSG","${crs.code}"]]`)
    if (known.wkid !== undefined) return known
  }
  return crs.wkt ? FeatureLayer.spatialReferenceFromWkt(crs.wkt) : { wkid: crs.code, latestWkid: crs.code }
}

/**
 * Reads FlatGeobuf bytes into a layer.
 *
 * @category constructors
 */
export const read = (bytes: Uint8Array, name = "features"): Effect.Effect<FeatureLayer.FeatureLayer, UnreadableData> =>
  Effect.gen(function* () {
    const { header, features } = yield* Effect.tryPromise({
      try: async () => {
        let header: HeaderMeta | undefined
        const features: Array<{ geometry: Geometry | null; properties: Record<string, unknown> }> = []
        for await (const f of deserialize(bytes, {
          headerMetaFn: (h: HeaderMeta) => {
            header = h
          }
        })) {
          features.push({
            geometry: (f.geometry as Geometry | undefined) ?? null,
            properties: (f.properties ?? {}) as Record<string, unknown>
          })
        }
        return { header, features }
      },
      catch: (cause) => new UnreadableData({ format, detail: describe(cause) })
    })
    const fields: Array<Field> = (header?.columns ?? []).map((c) => ({
      name: c.name,
      type: fieldType(c.type),
      alias: c.title ?? c.name,
      ...(c.type === 11 && c.width > 0 ? { length: c.width } : {})
    }))
    return yield* FeatureLayer.make(format, {
      name: header?.title || name,
      spatialReference: spatialReferenceOf(header),
      fields,
      features: features.map((f) => ({
        geometry: f.geometry,
        attributes: Object.fromEntries(
          fields.map((field) => {
            const v = f.properties[field.name]
            if (v === null || v === undefined) return [field.name, null]
            if (field.type === "esriFieldTypeDate") return [field.name, typeof v === "string" ? Date.parse(v) : v]
            if (typeof v === "boolean") return [field.name, v ? 1 : 0]
            if (typeof v === "bigint") return [field.name, Number(v)]
            return [field.name, v]
          })
        )
      }))
    })
  })
