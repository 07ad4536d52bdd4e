/**
 * GeoJSON files: a FeatureCollection, a Feature or a bare geometry. RFC 7946 GeoJSON is WGS84; an older file's
 * `crs` member (`urn:ogc:def:crs:EPSG::3857`, `EPSG:3857`) is honoured on reading and written for a layer in any
 * other coordinate system. Property types are kept as JSON has them, ISO 8601 text read as dates.
 *
 * @module
 */
import { Effect } from "effect"
import type { Feature, FeatureCollection, Geometry } from "geojson"
import { describe, UnreadableData } from "./DataFormatError.ts"
import type { Field } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

const format = "GeoJSON"

const crsCode = (crs: unknown): number | undefined => {
  const name = (crs as { properties?: { name?: unknown } } | undefined)?.properties?.name
  if (typeof name !== "string") return undefined
  const code = /EPSG:{1,2}(\d+)$/i.exec(name)?.[1] ?? (/CRS84$/i.test(name) ? "4326" : undefined)
  return code === undefined ? undefined : Number(code)
}

const isoDate = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/

/** A property's field: JSON numbers, ISO 8601 dates, and everything else as text. */
const fieldOf = (name: string, values: ReadonlyArray<unknown>): Field => {
  const present = values.filter((v) => v !== null && v !== undefined)
  const type =
    present.length > 0 && present.every((v) => typeof v === "number")
      ? present.every((v) => Number.isInteger(v) && Math.abs(v as number) <= 2_147_483_647)
        ? "esriFieldTypeInteger"
        : "esriFieldTypeDouble"
      : present.length > 0 && present.every((v) => typeof v === "string" && isoDate.test(v))
        ? "esriFieldTypeDate"
        : "esriFieldTypeString"
  return { name, type, alias: name }
}

const attributeOf = (field: Field, v: unknown): unknown => {
  if (v === null || v === undefined) return null
  if (field.type === "esriFieldTypeDate")
    return FeatureLayer.typeColumns([field.name], [{ [field.name]: v }]).rows[0]?.[field.name] ?? null
  if (field.type === "esriFieldTypeString") return typeof v === "string" ? v : JSON.stringify(v)
  return v
}

/**
 * Reads GeoJSON bytes (UTF-8) into a layer.
 *
 * @category constructors
 */
export const read = (bytes: Uint8Array, name = "features"): Effect.Effect<FeatureLayer.FeatureLayer, UnreadableData> =>
  Effect.gen(function* () {
    const value = yield* Effect.try({
      try: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
      catch: (cause) => new UnreadableData({ format, detail: `not JSON (${describe(cause)})` })
    })
    if (typeof value !== "object" || value === null || !("type" in value)) {
      return yield* new UnreadableData({ format, detail: "not a GeoJSON object (no type)" })
    }
    const type = (value as { type: unknown }).type
    const features: ReadonlyArray<Feature<Geometry | null>> | undefined =
      type === "FeatureCollection" && Array.isArray((value as FeatureCollection).features)
        ? (value as FeatureCollection).features
        : type === "Feature"
          ? [value as Feature]
          : typeof type === "string" &&
              [
                "Point",
                "MultiPoint",
                "LineString",
                "MultiLineString",
                "Polygon",
                "MultiPolygon",
                "GeometryCollection"
              ].includes(type)
            ? [{ type: "Feature", geometry: value as Geometry, properties: {} }]
            : undefined
    if (features === undefined) {
      return yield* new UnreadableData({
        format,
        detail: `a GeoJSON object of type ${JSON.stringify(type)} holds no features`
      })
    }
    const names = [...new Set(features.flatMap((f) => Object.keys(f.properties ?? {})))]
    const fields = names.map((n) =>
      fieldOf(
        n,
        features.map((f) => f.properties?.[n])
      )
    )
    const code = crsCode((value as { crs?: unknown }).crs) ?? 4326
    return yield* FeatureLayer.make(format, {
      name,
      spatialReference: { wkid: code, latestWkid: code },
      fields,
      features: features.map((f) => ({
        geometry: f.geometry ?? null,
        attributes: Object.fromEntries(
          fields.map((field) => [field.name, attributeOf(field, f.properties?.[field.name])])
        )
      }))
    })
  })

/**
 * Writes a layer as a GeoJSON FeatureCollection (dates as ISO 8601 text, `null` kept), with a `crs` member when the
 * layer is not in WGS84.
 *
 * @category constructors
 */
export const write = (layer: FeatureLayer.FeatureLayer): Uint8Array => {
  const fields = FeatureLayer.allFields(layer)
  const byName = new Map(fields.map((f) => [f.name, f]))
  const code = FeatureLayer.epsgOf(layer.spatialReference)
  const collection = {
    type: "FeatureCollection",
    ...(code === 4326 ? {} : { crs: { type: "name", properties: { name: `urn:ogc:def:crs:EPSG::${code ?? 0}` } } }),
    features: layer.features.map((f) => ({
      type: "Feature",
      geometry: f.geometry,
      properties: Object.fromEntries(
        fields.map((field) => {
          const v = f.attributes[field.name]
          if (v === null || v === undefined) return [field.name, null]
          return [
            field.name,
            FeatureLayer.dateTypes.has(byName.get(field.name)?.type ?? "") ? FeatureLayer.textOf(field, v) : v
          ]
        })
      )
    }))
  }
  return new TextEncoder().encode(JSON.stringify(collection))
}
