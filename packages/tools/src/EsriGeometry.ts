/**
 * Esri JSON feature sets as the geometry tools use them: converted to GeoJSON in WGS84 (Terraformer for the
 * geometry, proj4 for the coordinates) so Turf can compute on them, and back to Esri JSON in any spatial reference —
 * EPSG 4326, Web Mercator (3857 and its Esri aliases 102100/102113/900913), the UTM zones, or any proj4 definition or
 * WKT. Also GPLinearUnit distances in kilometres. Meant for code inside a tool's `execute`: a problem throws a
 * `GeometryError`, which fails the job with its message.
 *
 * @module
 */
import { arcgisToGeoJSON, geojsonToArcGIS } from "@terraformer/arcgis"
import type { Feature, FeatureCollection, Geometry, Position } from "geojson"
import proj4 from "proj4"
import type { LinearUnit } from "./GPValue.ts"

/**
 * A problem with the geometry a tool was given.
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

/** An Esri JSON feature set. @category models */
export interface EsriFeatureSet {
  readonly geometryType?: string | undefined
  readonly spatialReference?: SpatialReference | undefined
  readonly fields?:
    | ReadonlyArray<{ readonly name: string; readonly type?: string; readonly alias?: string }>
    | undefined
  readonly features: ReadonlyArray<{
    readonly geometry?: Readonly<Record<string, unknown>> | null | undefined
    readonly attributes?: Readonly<Record<string, unknown>> | null | undefined
  }>
}

/** A spatial reference as tools take it: a well-known id, or a proj4 definition or WKT. @category models */
export type SpatialReferenceId = number | string

const webMercator = new Set([3857, 102100, 102113, 900913, 3785])

/**
 * The proj4 projection of a spatial reference id.
 *
 * @category constructors
 */
export const projection = (sr: SpatialReferenceId): string => {
  const code =
    typeof sr === "number"
      ? sr
      : /^(EPSG:)?\d+$/i.test(sr.trim())
        ? Number(sr.trim().replace(/^EPSG:/i, ""))
        : undefined
  if (code === undefined) {
    const text = String(sr).trim()
    try {
      proj4(text)
    } catch {
      throw new GeometryError(
        `Unknown coordinate system ${JSON.stringify(text)}: give an EPSG code, a proj4 definition or WKT.`
      )
    }
    return text
  }
  if (code === 4326) return "EPSG:4326"
  if (webMercator.has(code)) return "EPSG:3857"
  if ((code >= 32601 && code <= 32660) || (code >= 32701 && code <= 32760)) {
    const south = code > 32700
    return `+proj=utm +zone=${code % 100} ${south ? "+south " : ""}+datum=WGS84 +units=m +no_defs`
  }
  throw new GeometryError(
    `Unsupported coordinate system EPSG:${code}: use 4326, 3857, a UTM zone (326xx/327xx) or a proj4 definition.`
  )
}

/**
 * The spatial reference of a feature set (its `latestWkid` first); WGS84 when it gives none.
 *
 * @category constructors
 */
export const spatialReferenceOf = (fs: EsriFeatureSet): SpatialReferenceId =>
  fs.spatialReference?.latestWkid ?? fs.spatialReference?.wkid ?? fs.spatialReference?.wkt ?? 4326

const mapPositions = (geometry: Geometry, f: (p: Position) => Position): Geometry => {
  switch (geometry.type) {
    case "Point":
      return { ...geometry, coordinates: f(geometry.coordinates) }
    case "MultiPoint":
    case "LineString":
      return { ...geometry, coordinates: geometry.coordinates.map(f) }
    case "MultiLineString":
    case "Polygon":
      return { ...geometry, coordinates: geometry.coordinates.map((ring) => ring.map(f)) }
    case "MultiPolygon":
      return { ...geometry, coordinates: geometry.coordinates.map((poly) => poly.map((ring) => ring.map(f))) }
    case "GeometryCollection":
      return { ...geometry, geometries: geometry.geometries.map((g) => mapPositions(g, f)) }
  }
}

const converter = (from: SpatialReferenceId, to: SpatialReferenceId): ((p: Position) => Position) => {
  const a = projection(from)
  const b = projection(to)
  if (a === b) return (p) => p
  const convert = proj4(a, b)
  return (p) => {
    const [x, y, ...rest] = p
    const [cx, cy] = convert.forward([x ?? 0, y ?? 0])
    return [cx, cy, ...rest]
  }
}

/**
 * The feature set as GeoJSON in WGS84, and the spatial reference it came in.
 *
 * @category constructors
 */
export const toGeoJSON = (
  fs: EsriFeatureSet
): { readonly collection: FeatureCollection; readonly sr: SpatialReferenceId } => {
  const sr = spatialReferenceOf(fs)
  const toWgs84 = converter(sr, 4326)
  const features: Array<Feature> = fs.features.map((feature, i) => {
    let geometry: Geometry | null = null
    if (feature.geometry) {
      try {
        geometry = mapPositions(arcgisToGeoJSON(feature.geometry as never) as Geometry, toWgs84)
      } catch (cause) {
        throw new GeometryError(`Feature ${i + 1} has a geometry that cannot be read: ${(cause as Error).message}`)
      }
    }
    return { type: "Feature", geometry: geometry as Geometry, properties: { ...(feature.attributes ?? {}) } }
  })
  return { collection: { type: "FeatureCollection", features }, sr }
}

const esriType = (geometry: Geometry | null | undefined): string | undefined => {
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

/**
 * The Esri JSON of a spatial reference id.
 *
 * @category constructors
 */
export const spatialReference = (sr: SpatialReferenceId): SpatialReference => {
  if (typeof sr === "string" && !/^(EPSG:)?\d+$/i.test(sr.trim())) return { wkt: sr }
  const code = Number(String(sr).replace(/^EPSG:/i, ""))
  if (webMercator.has(code)) return { wkid: 102100, latestWkid: 3857 }
  return { wkid: code, latestWkid: code }
}

/**
 * A GeoJSON collection in WGS84 as an Esri JSON feature set in `sr`.
 *
 * @category constructors
 */
export const fromGeoJSON = (
  collection: FeatureCollection,
  options: {
    readonly sr: SpatialReferenceId
    readonly fields?: EsriFeatureSet["fields"]
    readonly geometryType?: string | undefined
  }
): EsriFeatureSet => {
  const fromWgs84 = converter(4326, options.sr)
  const features = collection.features.map((feature) => {
    const geometry =
      feature.geometry === null
        ? null
        : (() => {
            const { spatialReference: _ignored, ...esri } = geojsonToArcGIS(
              mapPositions(feature.geometry, fromWgs84)
            ) as Record<string, unknown>
            return esri
          })()
    return { geometry, attributes: { ...(feature.properties ?? {}) } }
  })
  return {
    geometryType:
      options.geometryType ??
      esriType(collection.features.find((f) => f.geometry !== null)?.geometry) ??
      "esriGeometryPoint",
    spatialReference: spatialReference(options.sr),
    fields: options.fields ?? [],
    features
  }
}

const kilometres: Readonly<Record<string, number>> = {
  esriMillimeters: 1e-6,
  esriCentimeters: 1e-5,
  esriDecimeters: 1e-4,
  esriMeters: 1e-3,
  esriKilometers: 1,
  esriInches: 0.0000254,
  esriIntInches: 0.0000254,
  esriFeet: 0.0003048,
  esriIntFeet: 0.0003048,
  esriYards: 0.0009144,
  esriIntYards: 0.0009144,
  esriMiles: 1.609344,
  esriIntMiles: 1.609344,
  esriNauticalMiles: 1.852,
  esriIntNauticalMiles: 1.852,
  esriPoints: 0.0000254 / 72,
  // A degree of a great circle on the WGS84 equatorial radius.
  esriDecimalDegrees: (Math.PI * 6378.137) / 180
}

/**
 * A linear unit in kilometres.
 *
 * @category constructors
 */
export const toKilometers = (unit: LinearUnit): number => {
  const factor = kilometres[unit.units]
  if (factor === undefined) throw new GeometryError(`Unsupported distance unit ${unit.units}.`)
  return unit.distance * factor
}

/**
 * Throws the job's cancel reason when it has been cancelled (call between features).
 *
 * @category guards
 */
export const checkCancelled = (signal: AbortSignal): void => {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("Job cancelled")
}
