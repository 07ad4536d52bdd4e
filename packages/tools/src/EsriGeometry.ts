/**
 * Esri JSON feature sets as the geometry tools compute on them. Turf only works on GeoJSON in WGS84 lon/lat, so a
 * feature set is read into a FeatureCollection there (Terraformer for the geometry, proj4 for the coordinates) and
 * written back as Esri JSON in any spatial reference we can resolve: EPSG 4326, Web Mercator and its Esri aliases, the
 * WGS84 UTM zones, a proj4 definition or WKT. Also GPLinearUnit distances in kilometres, and the cancellable,
 * progress-reporting feature loop the tools share. Problems throw a `GeometryError`, whose message fails the job.
 *
 * @module
 */
import { arcgisToGeoJSON, geojsonToArcGIS } from "@terraformer/arcgis"
import { convertLength } from "@turf/helpers"
import type { Feature, FeatureCollection, Geometry, Position } from "geojson"
import proj4 from "proj4"
import { z } from "zod"
import type { ToolContext } from "./Tool.ts"

/**
 * Geometry a tool cannot work with: an unreadable feature set, an unknown spatial reference or unit, the wrong kind
 * of geometry.
 *
 * @category errors
 */
export class GeometryError extends Error {
  override readonly name = "GeometryError"
}

/** An Esri JSON spatial reference. @category models */
export interface SpatialReference {
  readonly wkid?: number | undefined
  readonly latestWkid?: number | undefined
  readonly wkt?: string | undefined
}

/** A field of an Esri JSON feature set (other keys, such as `length`, pass through). @category models */
export interface Field {
  readonly name: string
  readonly type?: string | undefined
  readonly alias?: string | undefined
  readonly [key: string]: unknown
}

/** An Esri JSON feature. @category models */
export interface EsriFeature {
  readonly geometry?: Readonly<Record<string, unknown>> | null | undefined
  readonly attributes?: Readonly<Record<string, unknown>> | null | undefined
}

/** An Esri JSON feature set, as GPFeatureRecordSetLayer values carry it. @category models */
export interface EsriFeatureSet {
  readonly geometryType?: string | undefined
  readonly spatialReference?: SpatialReference | null | undefined
  readonly hasZ?: boolean | undefined
  readonly fields?: ReadonlyArray<Field> | undefined
  readonly features: ReadonlyArray<EsriFeature>
}

/**
 * A spatial reference as tools take it: a wkid, `"EPSG:<code>"`, a proj4 definition or WKT.
 *
 * @category models
 */
export type SpatialReferenceId = number | string

const spatialReferenceSchema = z.looseObject({
  wkid: z.number().optional(),
  latestWkid: z.number().optional(),
  wkt: z.string().optional()
})

/** The shape of an Esri JSON feature set (unknown keys kept). @category schemas */
export const featureSetSchema = z.looseObject({
  geometryType: z.string().optional(),
  spatialReference: spatialReferenceSchema.nullable().optional(),
  hasZ: z.boolean().optional(),
  fields: z
    .array(z.looseObject({ name: z.string(), type: z.string().optional(), alias: z.string().optional() }))
    .optional(),
  features: z.array(
    z.looseObject({
      geometry: z.looseObject({}).nullable().optional(),
      attributes: z.record(z.string(), z.unknown()).nullable().optional()
    })
  )
})

/** A spatial reference resolved for proj4. @category models */
export interface Projection {
  /** The proj4 definition (a proj4 string, or the WKT as given). */
  readonly definition: string
  /** The spatial reference as Esri JSON writes it: wkids for EPSG codes, `wkt` for a definition. */
  readonly spatialReference: SpatialReference
  /** The normalised id: the EPSG code (3857 for every Web Mercator alias), or the definition text. */
  readonly id: SpatialReferenceId
}

const wgs84: Projection = {
  definition: "+proj=longlat +datum=WGS84 +no_defs",
  spatialReference: { wkid: 4326, latestWkid: 4326 },
  id: 4326
}

const webMercator: Projection = {
  definition:
    "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs",
  // What ArcGIS itself writes for Web Mercator.
  spatialReference: { wkid: 102100, latestWkid: 3857 },
  id: 3857
}

const webMercatorAliases = new Set([3857, 102100, 102113, 900913, 3785])

const supported = "use 4326, 3857 (102100), a WGS84 UTM zone (32601–32660, 32701–32760), a proj4 definition or WKT"

const byCode = (code: number): Projection => {
  if (code === 4326) return wgs84
  if (webMercatorAliases.has(code)) return webMercator
  const zone = code % 100
  if ((code - zone === 32600 || code - zone === 32700) && zone >= 1 && zone <= 60) {
    return {
      definition: `+proj=utm +zone=${zone}${code >= 32700 ? " +south" : ""} +datum=WGS84 +units=m +no_defs`,
      spatialReference: { wkid: code, latestWkid: code },
      id: code
    }
  }
  throw new GeometryError(`Unknown spatial reference wkid ${code}: ${supported}.`)
}

const byDefinition = (text: string): Projection => {
  try {
    proj4(text)
  } catch (cause) {
    // proj4 throws plain strings for unparseable text, and TypeErrors for malformed WKT.
    const reason = cause instanceof Error ? cause.message : String(cause)
    const shown = text.length > 80 ? `${text.slice(0, 77)}…` : text
    throw new GeometryError(`Cannot read the coordinate system ${JSON.stringify(shown)} (${reason}): ${supported}.`)
  }
  return { definition: text, spatialReference: { wkt: text }, id: text }
}

/**
 * Resolves a spatial reference for proj4: a wkid (`4326`, `"EPSG:32633"`, `"102100"`), a proj4 definition, WKT, an
 * Esri JSON spatial reference (its `latestWkid` first, then `wkid`, then `wkt`; WGS84 when empty) or its JSON text.
 * An unknown wkid or unreadable definition throws a `GeometryError`.
 *
 * @category constructors
 */
export const projection = (sr: SpatialReferenceId | SpatialReference): Projection => {
  if (typeof sr === "number") return byCode(sr)
  if (typeof sr === "object") {
    const [first, ...fallbacks] = [sr.latestWkid, sr.wkid, sr.wkt].filter((c) => c !== undefined)
    if (first === undefined) return wgs84
    try {
      return projection(first)
    } catch (error) {
      // An unknown latestWkid need not be fatal when the older wkid (or the WKT) is one we can read.
      for (const fallback of fallbacks) {
        try {
          return projection(fallback)
        } catch {
          // the next one, or the first error
        }
      }
      throw error
    }
  }
  const text = sr.trim()
  const code = /^(?:EPSG:)?(\d+)$/i.exec(text)?.[1]
  if (code !== undefined) return byCode(Number(code))
  if (text === "") throw new GeometryError(`No coordinate system given: ${supported}.`)
  if (text.startsWith("{")) {
    const parsed = spatialReferenceSchema.safeParse(
      (() => {
        try {
          return JSON.parse(text)
        } catch {
          return undefined
        }
      })()
    )
    if (!parsed.success) throw new GeometryError(`Cannot read the spatial reference ${text}: ${supported}.`)
    return projection(parsed.data)
  }
  return byDefinition(text)
}

/** Applies `f` to every position of a geometry. @category combinators */
export const mapPositions = (geometry: Geometry, f: (p: Position) => Position): Geometry => {
  switch (geometry.type) {
    case "Point":
      return { type: "Point", coordinates: f(geometry.coordinates) }
    case "MultiPoint":
      return { type: "MultiPoint", coordinates: geometry.coordinates.map(f) }
    case "LineString":
      return { type: "LineString", coordinates: geometry.coordinates.map(f) }
    case "MultiLineString":
      return { type: "MultiLineString", coordinates: geometry.coordinates.map((line) => line.map(f)) }
    case "Polygon":
      return { type: "Polygon", coordinates: geometry.coordinates.map((ring) => ring.map(f)) }
    case "MultiPolygon":
      return {
        type: "MultiPolygon",
        coordinates: geometry.coordinates.map((polygon) => polygon.map((ring) => ring.map(f)))
      }
    case "GeometryCollection":
      return { type: "GeometryCollection", geometries: geometry.geometries.map((g) => mapPositions(g, f)) }
  }
}

/**
 * A position's move from one coordinate system to another. Only x and y go through proj4: it would apply datum shifts
 * to z, which Esri JSON keeps as given. Throws what proj4 throws for a definition it cannot use.
 *
 * @category constructors
 */
export const transform = (from: Projection, to: Projection): ((p: Position) => Position) => {
  if (from.definition === to.definition) return (p) => p
  const converter = proj4(from.definition, to.definition)
  return ([x = Number.NaN, y = Number.NaN, ...rest]) => {
    const [cx, cy] = converter.forward([x, y])
    return [cx, cy, ...rest]
  }
}

const isEmpty = (geometry: Geometry): boolean =>
  geometry.type === "GeometryCollection" ? geometry.geometries.length === 0 : geometry.coordinates.length === 0

/** A feature set read for Turf. @category models */
export interface GeoJSONFeatures {
  /** The features in WGS84 lon/lat, attributes as properties, in input order (a missing geometry is `null`). */
  readonly features: FeatureCollection
  /** The input's spatial reference: its wkid (`latestWkid` first; 3857 for every Web Mercator alias) or WKT. */
  readonly wkid: SpatialReferenceId
  readonly geometryType: string | undefined
  readonly fields: ReadonlyArray<Field>
}

/**
 * Reads an Esri JSON feature set (a decoded GPFeatureRecordSetLayer value) into GeoJSON in WGS84. `parameter` names
 * the value in error messages. Features without a geometry (or with an empty one) get a `null` geometry.
 *
 * @category constructors
 */
export const toGeoJSON = (featureSet: unknown, parameter = "Input_Features"): GeoJSONFeatures => {
  const parsed = featureSetSchema.safeParse(featureSet)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`
    throw new GeometryError(`${parameter} is not an Esri JSON feature set${where}: ${issue?.message ?? "invalid"}.`)
  }
  const input = parsed.data
  const from = projection(input.spatialReference ?? {})
  const toWgs84 = transform(from, wgs84)
  const features = input.features.map((feature, i): Feature => {
    let geometry: Geometry | null = null
    if (feature.geometry) {
      // Terraformer warns on the console about any geometry-level spatial reference; the feature set's is what counts.
      const { spatialReference: _ignored, ...esri } = feature.geometry
      const read = arcgisToGeoJSON(esri as Parameters<typeof arcgisToGeoJSON>[0]) as Partial<Geometry>
      if (read.type !== undefined && !isEmpty(read as Geometry)) {
        geometry = mapPositions(read as Geometry, (p) => {
          const q = toWgs84(p)
          const [lon, lat] = q
          // Catches non-numeric coordinates, and projected coordinates sent as 4326 (latitudes far past the pole).
          if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat ?? 0) > 90 + 1e-9) {
            throw new GeometryError(
              `${parameter} feature ${i + 1} has a coordinate ${JSON.stringify(p)} that is not a place in ` +
                `spatial reference ${from.id}.`
            )
          }
          return q
        })
      }
    }
    return { type: "Feature", geometry: geometry as Geometry, properties: { ...(feature.attributes ?? {}) } }
  })
  const collection: FeatureCollection = { type: "FeatureCollection", features }
  return {
    features: collection,
    wkid: from.id,
    geometryType: input.geometryType,
    fields: input.fields ?? []
  }
}

/**
 * The Esri geometry type of a GeoJSON geometry.
 *
 * @category combinators
 */
export const esriGeometryType = (geometry: Geometry | null | undefined): string | undefined => {
  switch (geometry?.type) {
    case "Point":
      return "esriGeometryPoint"
    case "MultiPoint":
      return "esriGeometryMultipoint"
    case "LineString":
    case "MultiLineString":
      return "esriGeometryPolyline"
    case "Polygon":
    case "MultiPolygon":
      return "esriGeometryPolygon"
    default:
      return undefined
  }
}

/** Where and how `fromGeoJSON` writes. @category models */
export interface FromGeoJSONOptions {
  readonly wkid: SpatialReferenceId
  readonly geometryType?: string | undefined
  readonly fields?: ReadonlyArray<Field> | undefined
}

/**
 * Writes GeoJSON in WGS84 as an Esri JSON feature set in `wkid` (any `SpatialReferenceId`), properties as attributes.
 * `geometryType` defaults to that of the first feature with a geometry.
 *
 * @category constructors
 */
export const fromGeoJSON = (
  collection: FeatureCollection<Geometry | null>,
  options: FromGeoJSONOptions
): EsriFeatureSet => {
  const to = projection(options.wkid)
  const fromWgs84 = transform(wgs84, to)
  let hasZ = false
  const features = collection.features.map((feature, i) => {
    if (feature.geometry === null) return { geometry: null, attributes: { ...(feature.properties ?? {}) } }
    if (feature.geometry.type === "GeometryCollection") {
      throw new GeometryError(`Output feature ${i + 1} is a GeometryCollection, which Esri JSON cannot hold.`)
    }
    const { spatialReference: _ignored, ...geometry } = geojsonToArcGIS(
      mapPositions(feature.geometry, fromWgs84)
    ) as unknown as Record<string, unknown>
    if (geometry.hasZ === true || typeof geometry.z === "number") hasZ = true
    return { geometry, attributes: { ...(feature.properties ?? {}) } }
  })
  const geometryType =
    options.geometryType ?? esriGeometryType(collection.features.find((f) => f.geometry !== null)?.geometry)
  return {
    ...(geometryType === undefined ? {} : { geometryType }),
    spatialReference: to.spatialReference,
    ...(hasZ ? { hasZ } : {}),
    fields: options.fields ?? [],
    features
  }
}

const fieldType = (values: ReadonlyArray<unknown>): string =>
  values.every((v) => typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= 2_147_483_647)
    ? "esriFieldTypeInteger"
    : values.every((v) => typeof v === "number")
      ? "esriFieldTypeDouble"
      : "esriFieldTypeString"

/**
 * A GeoJSON input (a FeatureCollection, a Feature or a bare geometry, in WGS84 as RFC 7946 has it) as an Esri JSON
 * feature set in EPSG 4326, with fields read off the properties; `undefined` when the value is not GeoJSON. A GeoJobs
 * extension: ArcGIS reads Esri JSON only, but analysts hold their data as .geojson files. Throws `GeometryError` for
 * GeoJSON that a feature set cannot hold (mixed geometry types, a GeometryCollection).
 */
export const fromGeoJSONInput = (value: unknown): EsriFeatureSet | undefined => {
  if (typeof value !== "object" || value === null || !("type" in value)) return undefined
  const type = (value as { type: unknown }).type
  const collection: FeatureCollection<Geometry | null> | undefined =
    type === "FeatureCollection" && Array.isArray((value as { features?: unknown }).features)
      ? (value as FeatureCollection<Geometry | null>)
      : type === "Feature"
        ? { type: "FeatureCollection", features: [value as Feature<Geometry | null>] }
        : esriGeometryType(value as Geometry) !== undefined || type === "GeometryCollection"
          ? { type: "FeatureCollection", features: [{ type: "Feature", geometry: value as Geometry, properties: {} }] }
          : undefined
  if (collection === undefined) return undefined
  const kinds = new Set(collection.features.map((f) => esriGeometryType(f.geometry)).filter((k) => k !== undefined))
  if (kinds.size > 1)
    throw new GeometryError(`The GeoJSON mixes geometry types (${[...kinds].join(", ")}); a feature set holds one.`)
  const names = [...new Set(collection.features.flatMap((f) => Object.keys(f.properties ?? {})))]
  const fields = names.map((name) => ({
    name,
    type: fieldType(collection.features.map((f) => f.properties?.[name]).filter((v) => v !== null && v !== undefined)),
    alias: name
  }))
  return fromGeoJSON(collection, { wkid: 4326, fields })
}

/** A GPLinearUnit value; `units` defaults to `esriMeters`, as in ArcGIS. @category models */
export interface LinearUnit {
  readonly distance: number
  readonly units?: string | undefined
}

const inchKm = 0.0254e-3

/** Kilometres per unit of each GPLinearUnit unit but `esriDecimalDegrees` (which is Turf's "degrees"). @category models */
export const kilometresPerUnit: Readonly<Record<string, number>> = {
  esriMillimeters: 1e-6,
  esriCentimeters: 1e-5,
  esriDecimeters: 1e-4,
  esriMeters: 1e-3,
  esriKilometers: 1,
  esriPoints: inchKm / 72,
  esriInches: inchKm,
  esriIntInches: inchKm,
  esriFeet: 12 * inchKm,
  esriIntFeet: 12 * inchKm,
  esriYards: 36 * inchKm,
  esriIntYards: 36 * inchKm,
  esriMiles: 63_360 * inchKm,
  esriIntMiles: 63_360 * inchKm,
  esriNauticalMiles: 1.852,
  esriIntNauticalMiles: 1.852
}

/**
 * A GPLinearUnit distance in kilometres. Decimal degrees are arc degrees of Turf's sphere (1° ≈ 111.195 km); an
 * unknown unit (or `esriUnknownUnits`) throws a `GeometryError` naming it.
 *
 * @category constructors
 */
export const toKilometers = (unit: LinearUnit): number => {
  const units = unit.units ?? "esriMeters"
  if (typeof unit.distance !== "number" || !Number.isFinite(unit.distance)) {
    throw new GeometryError(`A distance must be a finite number, got ${JSON.stringify(unit.distance)}.`)
  }
  if (units === "esriDecimalDegrees") return convertLength(unit.distance, "degrees", "kilometers")
  const factor = kilometresPerUnit[units]
  if (factor === undefined) {
    throw new GeometryError(
      `Unsupported distance unit ${JSON.stringify(units)}: use one of ${[...Object.keys(kilometresPerUnit), "esriDecimalDegrees"].join(", ")}.`
    )
  }
  return unit.distance * factor
}

/**
 * Runs `f` on each item in order. Before each it throws the job's cancel reason if the job was cancelled, and reports
 * progress (`"<what> 3 of 10"`) whenever the whole percentage grows, so long loops stay visible and stoppable.
 *
 * @category combinators
 */
export const eachFeature = <A, B>(
  items: ReadonlyArray<A>,
  context: Pick<ToolContext, "signal" | "progress">,
  what: string,
  f: (item: A, index: number) => B
): Array<B> => {
  context.signal.throwIfAborted()
  const out: Array<B> = []
  let reported = -1
  items.forEach((item, i) => {
    context.signal.throwIfAborted()
    const percent = Math.floor((i * 100) / items.length)
    if (percent > reported) {
      context.progress(percent, `${what} ${i + 1} of ${items.length}`)
      reported = percent
    }
    out.push(f(item, i))
  })
  return out
}
