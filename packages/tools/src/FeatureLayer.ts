/**
 * The one shape every data format is read into and written from: a layer of GeoJSON geometries in the layer's own
 * coordinate system (not reprojected), Esri JSON fields and attribute values (dates as epoch milliseconds, `null` for
 * no value), and an Esri JSON spatial reference. It converts to and from the Esri JSON feature sets tools take
 * (Terraformer for the geometries), reprojects with proj4, names coordinate systems found as WKT (`.prj`, GeoPackage
 * srs) and writes them back, and types the columns of text formats (CSV, KML).
 *
 * @module
 */
import { arcgisToGeoJSON, geojsonToArcGIS } from "@terraformer/arcgis"
import { Effect } from "effect"
import type { Geometry } from "geojson"
import { describe, UnknownCoordinateSystem, UnreadableData } from "./DataFormatError.ts"
import * as EsriGeometry from "./EsriGeometry.ts"

/** One feature of a layer. @category models */
export interface LayerFeature {
  readonly geometry: Geometry | null
  readonly attributes: Readonly<Record<string, unknown>>
}

/** A layer of features in its own coordinate system. @category models */
export interface FeatureLayer {
  /** The layer's name (file or table name), used for the files written. */
  readonly name: string
  /** `esriGeometryPoint`, `esriGeometryMultipoint`, `esriGeometryPolyline`, `esriGeometryPolygon`, or none. */
  readonly geometryType: string | undefined
  readonly spatialReference: EsriGeometry.SpatialReference
  readonly fields: ReadonlyArray<EsriGeometry.Field>
  readonly features: ReadonlyArray<LayerFeature>
}

/** Esri field types that hold whole numbers. @category models */
export const integerTypes: ReadonlySet<string> = new Set([
  "esriFieldTypeOID",
  "esriFieldTypeSmallInteger",
  "esriFieldTypeInteger",
  "esriFieldTypeBigInteger"
])
/** Esri field types that hold real numbers. @category models */
export const realTypes: ReadonlySet<string> = new Set(["esriFieldTypeDouble", "esriFieldTypeSingle"])
/** Esri field types that hold dates (epoch milliseconds). @category models */
export const dateTypes: ReadonlySet<string> = new Set(["esriFieldTypeDate", "esriFieldTypeDateOnly"])

/** The geometry types GeoJSON can hold in one feature set. */
const kindOf = (g: Geometry | null): string | undefined => EsriGeometry.esriGeometryType(g)

/**
 * Flattens a GeometryCollection of one kind (KML's MultiGeometry) into the matching multi-geometry; `undefined` when
 * its members are of several kinds.
 */
const flatten = (g: Geometry): Geometry | undefined => {
  if (g.type !== "GeometryCollection") return g
  const parts = g.geometries.map(flatten)
  if (parts.some((p) => p === undefined) || parts.length === 0) return undefined
  const kinds = new Set(parts.map((p) => kindOf(p ?? null)))
  if (kinds.size !== 1) return undefined
  const all = parts as Array<Geometry>
  switch ([...kinds][0]) {
    case "esriGeometryPoint":
    case "esriGeometryMultipoint":
      return {
        type: "MultiPoint",
        coordinates: all.flatMap((p) =>
          p.type === "Point" ? [p.coordinates] : p.type === "MultiPoint" ? p.coordinates : []
        )
      }
    case "esriGeometryPolyline":
      return {
        type: "MultiLineString",
        coordinates: all.flatMap((p) =>
          p.type === "LineString" ? [p.coordinates] : p.type === "MultiLineString" ? p.coordinates : []
        )
      }
    default:
      return {
        type: "MultiPolygon",
        coordinates: all.flatMap((p) =>
          p.type === "Polygon" ? [p.coordinates] : p.type === "MultiPolygon" ? p.coordinates : []
        )
      }
  }
}

/**
 * Makes a layer from features read by a format: GeometryCollections of one kind become multi-geometries, and the
 * geometry type is that of the features (failing when they mix kinds, which a feature set cannot hold).
 *
 * @category constructors
 */
export const make = (
  format: string,
  layer: Omit<FeatureLayer, "geometryType"> & { readonly geometryType?: string | undefined }
): Effect.Effect<FeatureLayer, UnreadableData> =>
  Effect.suspend(() => {
    const features: Array<LayerFeature> = []
    const kinds = new Set<string>()
    for (const [i, f] of layer.features.entries()) {
      const geometry = f.geometry === null ? null : flatten(f.geometry)
      if (geometry === undefined) {
        return Effect.fail(
          new UnreadableData({
            format,
            detail: `feature ${i + 1} mixes geometry types, which a feature set cannot hold`
          })
        )
      }
      const kind = kindOf(geometry)
      if (kind !== undefined) kinds.add(kind)
      features.push({ geometry, attributes: f.attributes })
    }
    // Points and multipoints together are read as multipoints, as ArcGIS reads such a KML.
    if (kinds.has("esriGeometryPoint") && kinds.has("esriGeometryMultipoint")) {
      kinds.delete("esriGeometryPoint")
      for (const [i, f] of features.entries()) {
        if (f.geometry?.type === "Point") {
          features[i] = { ...f, geometry: { type: "MultiPoint", coordinates: [f.geometry.coordinates] } }
        }
      }
    }
    if (kinds.size > 1) {
      return Effect.fail(
        new UnreadableData({
          format,
          detail: `the features mix geometry types (${[...kinds].join(", ")}); a feature set holds one`
        })
      )
    }
    return Effect.succeed({ ...layer, geometryType: layer.geometryType ?? [...kinds][0], features })
  })

/**
 * A layer from an Esri JSON feature set (a decoded GPFeatureRecordSetLayer value), its geometries left in the feature
 * set's spatial reference.
 *
 * @category constructors
 */
export const fromFeatureSet = (featureSet: unknown, name = "features"): Effect.Effect<FeatureLayer, UnreadableData> =>
  Effect.suspend(() => {
    const parsed = EsriGeometry.featureSetSchema.safeParse(featureSet)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`
      return Effect.fail(
        new UnreadableData({
          format: "feature set",
          detail: `not an Esri JSON feature set${where}: ${issue?.message ?? "invalid"}`
        })
      )
    }
    const input = parsed.data
    return Effect.try({
      try: (): FeatureLayer => ({
        name,
        geometryType: input.geometryType,
        spatialReference: input.spatialReference ?? { wkid: 4326 },
        fields: (input.fields ?? []) as ReadonlyArray<EsriGeometry.Field>,
        features: input.features.map((f) => {
          let geometry: Geometry | null = null
          if (f.geometry) {
            const { spatialReference: _ignored, ...esri } = f.geometry
            const read = arcgisToGeoJSON(esri as Parameters<typeof arcgisToGeoJSON>[0]) as Partial<Geometry>
            if (read.type !== undefined && !isEmpty(read as Geometry)) geometry = read as Geometry
          }
          return { geometry, attributes: { ...(f.attributes ?? {}) } }
        })
      }),
      catch: (cause) => new UnreadableData({ format: "feature set", detail: describe(cause) })
    })
  })

const isEmpty = (g: Geometry): boolean =>
  g.type === "GeometryCollection" ? g.geometries.length === 0 : g.coordinates.length === 0

/**
 * The layer as an Esri JSON feature set, in the layer's spatial reference. Fields without a type get one from their
 * values.
 *
 * @category constructors
 */
export const toFeatureSet = (layer: FeatureLayer): EsriGeometry.EsriFeatureSet => {
  let hasZ = false
  const features = layer.features.map((f) => {
    if (f.geometry === null) return { geometry: null, attributes: { ...f.attributes } }
    const { spatialReference: _ignored, ...geometry } = geojsonToArcGIS(f.geometry) as unknown as Record<
      string,
      unknown
    >
    if (geometry.hasZ === true || typeof geometry.z === "number") hasZ = true
    return { geometry, attributes: { ...f.attributes } }
  })
  return {
    ...(layer.geometryType === undefined ? {} : { geometryType: layer.geometryType }),
    spatialReference: layer.spatialReference,
    ...(hasZ ? { hasZ } : {}),
    fields: layer.fields,
    features
  }
}

/**
 * Resolves a spatial reference (a wkid, `"EPSG:<code>"`, a proj4 definition, WKT, or Esri JSON) for proj4.
 *
 * @category constructors
 */
export const projection = (
  sr: EsriGeometry.SpatialReferenceId | EsriGeometry.SpatialReference
): Effect.Effect<EsriGeometry.Projection, UnknownCoordinateSystem> =>
  Effect.try({
    try: () => EsriGeometry.projection(sr),
    catch: (cause) => new UnknownCoordinateSystem({ detail: describe(cause) })
  })

/**
 * The layer in another coordinate system (x and y through proj4; z kept). Nothing changes when the two are the same.
 *
 * @category combinators
 */
export const project = (
  layer: FeatureLayer,
  target: EsriGeometry.SpatialReferenceId | EsriGeometry.SpatialReference
): Effect.Effect<FeatureLayer, UnknownCoordinateSystem> =>
  Effect.gen(function* () {
    const from = yield* projection(layer.spatialReference)
    const to = yield* projection(target)
    if (from.definition === to.definition) return { ...layer, spatialReference: to.spatialReference }
    const move = yield* Effect.try({
      try: () => EsriGeometry.transform(from, to),
      catch: (cause) => new UnknownCoordinateSystem({ detail: describe(cause) })
    })
    return {
      ...layer,
      spatialReference: to.spatialReference,
      features: layer.features.map((f) =>
        f.geometry === null ? f : { ...f, geometry: EsriGeometry.mapPositions(f.geometry, move) }
      )
    }
  })

/** The EPSG code of a spatial reference, when it has one (every Web Mercator alias is 3857). @category combinators */
export const epsgOf = (sr: EsriGeometry.SpatialReference): number | undefined => {
  const code = sr.latestWkid ?? sr.wkid
  if (code === undefined) return sr.wkt === undefined ? 4326 : wkidFromWkt(sr.wkt)
  return [102100, 102113, 900913, 3785].includes(code) ? 3857 : code
}

/**
 * The EPSG code a WKT (ESRI's `.prj` flavour or OGC's) names: its top-level `AUTHORITY["EPSG",…]` or `ID["EPSG",…]`,
 * or ESRI's names for WGS84, Web Mercator and the WGS84 UTM zones.
 *
 * @category combinators
 */
export const wkidFromWkt = (wkt: string): number | undefined => {
  const text = wkt.trim()
  // The top-level authority closes the WKT: it is the last one, just before the final bracket.
  const authority = /(?:AUTHORITY|ID)\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]\s*\]\s*$/i.exec(text)?.[1]
  if (authority !== undefined) return Number(authority)
  const name = /^\w+\[\s*"([^"]+)"/.exec(text)?.[1]
  if (name === undefined) return undefined
  if (/^(GCS_)?WGS[_ ]?(19)?84$/i.test(name)) return 4326
  if (/Web_Mercator|Pseudo-Mercator|Popular Visualisation/i.test(name)) return 3857
  const utm = /WGS[_ ]?(19)?84[_ /]+UTM[_ ]zone[_ ](\d+)([NS])/i.exec(name)
  if (utm) return (utm[3]?.toUpperCase() === "N" ? 32600 : 32700) + Number(utm[2])
  return undefined
}

/**
 * The spatial reference a WKT stands for: a wkid when it names a coordinate system GeoJobs knows by code (WGS84,
 * Web Mercator, a WGS84 UTM zone), otherwise the WKT itself.
 *
 * @category constructors
 */
export const spatialReferenceFromWkt = (wkt: string): EsriGeometry.SpatialReference => {
  const code = wkidFromWkt(wkt)
  if (code !== undefined) {
    try {
      return EsriGeometry.projection(code).spatialReference
    } catch {
      // a code proj4 here does not know: keep the WKT
    }
  }
  return { wkt: wkt.trim() }
}

const wgs84Geogcs = (flavour: "esri" | "ogc") =>
  flavour === "esri"
    ? 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
    : 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]'

/**
 * The WKT of a spatial reference, to write as a `.prj` (`esri`) or a GeoPackage srs definition (`ogc`): WGS84, Web
 * Mercator and the WGS84 UTM zones by code, any other by the WKT it carries; `undefined` when there is none.
 *
 * @category combinators
 */
export const wktOf = (sr: EsriGeometry.SpatialReference, flavour: "esri" | "ogc"): string | undefined => {
  const code = epsgOf(sr)
  if (code === 4326) return wgs84Geogcs(flavour)
  if (code === 3857) {
    return flavour === "esri"
      ? `PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",${wgs84Geogcs("esri")},PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]`
      : `PROJCS["WGS 84 / Pseudo-Mercator",${wgs84Geogcs("ogc")},PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs"],AUTHORITY["EPSG","3857"]]`
  }
  if (code !== undefined && code > 32600 && code <= 32760 && code % 100 >= 1 && code % 100 <= 60) {
    const zone = code % 100
    const south = code > 32700
    const name =
      flavour === "esri"
        ? `WGS_1984_UTM_Zone_${zone}${south ? "S" : "N"}`
        : `WGS 84 / UTM zone ${zone}${south ? "S" : "N"}`
    const parameters = [
      ["False_Easting", 500000],
      ["False_Northing", south ? 10000000 : 0],
      ["Central_Meridian", zone * 6 - 183],
      ["Scale_Factor", 0.9996],
      ["Latitude_Of_Origin", 0]
    ]
      .map(([k, v]) => `PARAMETER["${flavour === "esri" ? k : String(k).toLowerCase()}",${v}]`)
      .join(",")
    const unit = flavour === "esri" ? 'UNIT["Meter",1.0]' : 'UNIT["metre",1,AUTHORITY["EPSG","9001"]]'
    const tail = flavour === "esri" ? "" : `,AUTHORITY["EPSG","${code}"]`
    return `PROJCS["${name}",${wgs84Geogcs(flavour)},PROJECTION["Transverse_Mercator"],${parameters},${unit}${tail}]`
  }
  return sr.wkt
}

const integerText = /^[+-]?\d+$/
const realText = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const dateText = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/

const parseDate = (text: string): number => {
  // A date alone is midnight UTC, a date-time without a zone is read as UTC (as ArcGIS stores dates).
  const iso = text.includes("T") || text.includes(" ") ? text.replace(" ", "T") : `${text}T00:00:00Z`
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`)
}

/**
 * Types the columns of a text format (CSV, KML ExtendedData): a column whose values are all whole numbers is an
 * integer (a double when one is beyond 32 bits), all numbers a double, all ISO 8601 dates a date, and otherwise a
 * string; an empty value is `null`. Answers the fields and the rows with typed values.
 *
 * @category constructors
 */
export const typeColumns = (
  names: ReadonlyArray<string>,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>
): {
  readonly fields: ReadonlyArray<EsriGeometry.Field>
  readonly rows: ReadonlyArray<Record<string, unknown>>
} => {
  const texts = (name: string) =>
    rows.map((r) => r[name]).filter((v): v is string => typeof v === "string" && v.trim() !== "")
  const fields = names.map((name): EsriGeometry.Field => {
    const values = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined && v !== "")
    const strings = texts(name)
    let type = "esriFieldTypeString"
    if (
      values.length > 0 &&
      values.every((v) => typeof v === "number" || (typeof v === "string" && realText.test(v.trim())))
    ) {
      const numbers = values.map(Number)
      type =
        values.every((v) => (typeof v === "string" ? integerText.test(v.trim()) : Number.isInteger(v))) &&
        numbers.every((n) => Math.abs(n) <= 2_147_483_647)
          ? "esriFieldTypeInteger"
          : "esriFieldTypeDouble"
    } else if (
      strings.length > 0 &&
      strings.length === values.length &&
      strings.every((s) => dateText.test(s.trim()))
    ) {
      type = "esriFieldTypeDate"
    }
    return { name, type, alias: name }
  })
  const typed = rows.map((row) =>
    Object.fromEntries(
      fields.map((field) => {
        const raw = row[field.name]
        if (raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === ""))
          return [field.name, null]
        if (field.type === "esriFieldTypeString") return [field.name, typeof raw === "string" ? raw : String(raw)]
        if (field.type === "esriFieldTypeDate") return [field.name, parseDate(String(raw).trim())]
        return [field.name, Number(raw)]
      })
    )
  )
  return { fields, rows: typed }
}

/**
 * An attribute value as text for a text format: dates as ISO 8601 (UTC), `null` as `undefined`.
 *
 * @category combinators
 */
export const textOf = (field: EsriGeometry.Field | undefined, value: unknown): string | undefined => {
  if (value === null || value === undefined) return undefined
  if (field?.type !== undefined && dateTypes.has(field.type) && typeof value === "number") {
    return new Date(value).toISOString()
  }
  return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value)
}

/**
 * The layer's fields, with a typed field for every attribute found on the features but not declared.
 *
 * @category combinators
 */
export const allFields = (layer: FeatureLayer): ReadonlyArray<EsriGeometry.Field> => {
  const declared = new Set(layer.fields.map((f) => f.name))
  const extra = [...new Set(layer.features.flatMap((f) => Object.keys(f.attributes)))].filter((n) => !declared.has(n))
  if (extra.length === 0) return layer.fields
  return [
    ...layer.fields,
    ...typeColumns(
      extra,
      layer.features.map((f) => f.attributes)
    ).fields
  ]
}

/** A layer's name as written in file names: letters, digits and underscores (`features` when nothing is left). @category models */
export const safeName = (name: string): string => name.replace(/[^\w-]+/g, "_").replace(/^_+|_+$/g, "") || "features"
