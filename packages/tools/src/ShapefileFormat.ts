/**
 * Zipped shapefiles: the `.shp` (geometry, read by `shapefile`, written by `@mapbox/shp-write`), the `.dbf`
 * (attributes, `dbffile`, with their declared types: N with decimals a double, without an integer, D a date, C text),
 * the `.prj` (the coordinate system, as WKT) and the `.cpg` (the attributes' encoding), zipped with fflate. The dBase
 * format keeps dates without a time of day, field names of at most 10 characters and text of at most 254 bytes; a blank
 * value is `null`, as GDAL reads it. Written shapefiles hold one geometry type (point, polyline or polygon; no
 * multipoints) and no feature without a geometry.
 *
 * @module
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { write as writeShp } from "@mapbox/shp-write"
import { geojsonToArcGIS } from "@terraformer/arcgis"
import { DBFFile, type FieldDescriptor } from "dbffile"
import { Effect } from "effect"
import { strFromU8, unzipSync, zipSync } from "fflate"
import type { Geometry } from "geojson"
import * as Shapefile from "shapefile"
import { BadArchive, CannotWrite, describe, MissingPart, UnreadableData } from "./DataFormatError.ts"
import { esriGeometryType, type Field } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

const format = "zipped shapefile"

/** A scratch folder for dbffile, which works on files; removed afterwards whatever happens. */
const withScratch = <A, E>(use: (dir: string) => Effect.Effect<A, E>, onError: (cause: unknown) => E) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => mkdtemp(join(tmpdir(), "geojobs-shp-")), catch: onError }),
    use,
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/** Files of a zip by lower-cased path, macOS resource forks left out. */
const unzip = (
  bytes: Uint8Array,
  what: string
): Effect.Effect<Map<string, { name: string; bytes: Uint8Array }>, BadArchive> =>
  Effect.try({
    try: () =>
      new Map(
        Object.entries(unzipSync(bytes))
          .filter(([path]) => !path.startsWith("__MACOSX/") && !path.endsWith("/"))
          .map(([path, content]) => [path.toLowerCase(), { name: path, bytes: content }])
      ),
    catch: (cause) => new BadArchive({ format: what, detail: describe(cause) })
  })

const baseName = (path: string) => path.replace(/^.*\//, "").replace(/\.[^.]*$/, "")

/** What a DBF field holds, as an Esri field. */
const fieldOf = (d: FieldDescriptor): Field => {
  switch (d.type) {
    case "N":
    case "F":
      return (d.decimalPlaces ?? 0) === 0
        ? { name: d.name, type: d.size <= 10 ? "esriFieldTypeInteger" : "esriFieldTypeBigInteger", alias: d.name }
        : { name: d.name, type: "esriFieldTypeDouble", alias: d.name }
    case "I":
      return { name: d.name, type: "esriFieldTypeInteger", alias: d.name }
    case "B":
    case "Y":
      return { name: d.name, type: "esriFieldTypeDouble", alias: d.name }
    case "D":
    case "T":
      return { name: d.name, type: "esriFieldTypeDate", alias: d.name }
    case "L":
      return { name: d.name, type: "esriFieldTypeSmallInteger", alias: d.name }
    default:
      return { name: d.name, type: "esriFieldTypeString", alias: d.name, length: d.size }
  }
}

const attributeOf = (field: Field, v: unknown): unknown => {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime()
  if (typeof v === "boolean") return v ? 1 : 0
  if (typeof v === "number") return Number.isNaN(v) ? null : v
  // shapelib (and so GDAL) reads an all-blank text value as null.
  if (field.type === "esriFieldTypeString" && typeof v === "string" && v === "") return null
  return v
}

/** The layer's name for the files written: letters, digits and underscores. @category models */
export const safeName = FeatureLayer.safeName

/**
 * Reads a zipped shapefile. A zip of several shapefiles gives the one named `layer`, or the first by name.
 *
 * @category constructors
 */
export const read = (
  bytes: Uint8Array,
  layer?: string
): Effect.Effect<FeatureLayer.FeatureLayer, BadArchive | MissingPart | UnreadableData> =>
  Effect.gen(function* () {
    const files = yield* unzip(bytes, format)
    const shps = [...files.keys()].filter((p) => p.endsWith(".shp")).sort()
    const shp = layer === undefined ? shps[0] : shps.find((p) => baseName(p) === layer.toLowerCase())
    if (shp === undefined) {
      return yield* new MissingPart({
        format,
        part: layer === undefined ? ".shp file" : `.shp file named ${layer}`,
        detail: `the zip holds ${[...files.values()].map((f) => f.name).join(", ") || "nothing"}`
      })
    }
    const stem = shp.slice(0, -4)
    const dbf = files.get(`${stem}.dbf`)
    if (dbf === undefined) return yield* new MissingPart({ format, part: `.dbf file beside ${files.get(shp)?.name}` })
    const prj = files.get(`${stem}.prj`)
    const cpg = files.get(`${stem}.cpg`)
    const encoding = cpg === undefined ? "ISO-8859-1" : strFromU8(cpg.bytes).trim() || "ISO-8859-1"
    const shpBytes = files.get(shp)?.bytes ?? new Uint8Array()
    const geometries = yield* Effect.tryPromise({
      try: async () => {
        const source = await Shapefile.openShp(shpBytes)
        const out: Array<Geometry | null> = []
        for (let r = await source.read(); !r.done; r = await source.read())
          out.push((r.value as Geometry | null) ?? null)
        return out
      },
      catch: (cause) => new UnreadableData({ format, detail: `the .shp: ${describe(cause)}` })
    })
    const table = yield* withScratch(
      (dir) =>
        Effect.tryPromise({
          try: async () => {
            const path = join(dir, "layer.dbf")
            await writeFile(path, dbf.bytes)
            const file = await DBFFile.open(path, {
              encoding: /^utf-?8$/i.test(encoding) ? "utf-8" : encoding,
              readMode: "loose"
            })
            return { fields: file.fields, records: await file.readRecords() }
          },
          catch: (cause) => new UnreadableData({ format, detail: `the .dbf: ${describe(cause)}` })
        }),
      (cause) => new UnreadableData({ format, detail: describe(cause) })
    )
    const fields = table.fields.map(fieldOf)
    return yield* FeatureLayer.make(format, {
      name: baseName(files.get(shp)?.name ?? "features"),
      spatialReference:
        prj === undefined
          ? { wkid: 4326, latestWkid: 4326 }
          : FeatureLayer.spatialReferenceFromWkt(strFromU8(prj.bytes)),
      fields,
      features: geometries.map((geometry, i) => {
        const record = (table.records[i] ?? {}) as Record<string, unknown>
        return { geometry, attributes: Object.fromEntries(fields.map((f) => [f.name, attributeOf(f, record[f.name])])) }
      })
    })
  })

const utf8Length = (s: string) => new TextEncoder().encode(s).length

/** The DBF field for an Esri field, sized for the values it will hold. */
const descriptorOf = (field: Field, name: string, values: ReadonlyArray<unknown>): FieldDescriptor => {
  const type = field.type ?? "esriFieldTypeString"
  if (FeatureLayer.integerTypes.has(type)) {
    const widest = Math.max(1, ...values.map((v) => (typeof v === "number" ? String(Math.trunc(v)).length : 1)))
    return { name, type: "N", size: widest <= 9 ? 9 : 18, decimalPlaces: 0 }
  }
  if (FeatureLayer.realTypes.has(type)) return { name, type: "N", size: 20, decimalPlaces: 10 }
  if (FeatureLayer.dateTypes.has(type)) return { name, type: "D", size: 8 }
  const longest = Math.max(1, ...values.map((v) => (v === null || v === undefined ? 1 : utf8Length(String(v)))))
  return {
    name,
    type: "C",
    size: Math.min(254, Math.max(longest, typeof field.length === "number" ? field.length : 1))
  }
}

/** A number whose text fits dBase's 20 characters (about 13 significant digits when it has to shrink). */
const fitted = (n: number): number => (String(n).length <= 20 ? n : Number(n.toExponential(12)))

/** Field names cut to dBase's 10 characters, kept unique. */
const dbfNames = (fields: ReadonlyArray<Field>): Array<string> => {
  const taken = new Set<string>()
  return fields.map((f) => {
    let name = f.name.slice(0, 10)
    for (let n = 1; taken.has(name.toUpperCase()); n++) name = `${f.name.slice(0, 10 - String(n).length - 1)}_${n}`
    taken.add(name.toUpperCase())
    return name
  })
}

const shapeType = (geometryType: string | undefined) =>
  geometryType === "esriGeometryPoint"
    ? ("POINT" as const)
    : geometryType === "esriGeometryPolyline"
      ? ("POLYLINE" as const)
      : geometryType === "esriGeometryPolygon"
        ? ("POLYGON" as const)
        : undefined

/**
 * Writes a layer as a zipped shapefile (`<name>.shp/.shx/.dbf/.prj/.cpg`, UTF-8 attributes).
 *
 * @category constructors
 */
export const write = (layer: FeatureLayer.FeatureLayer): Effect.Effect<Uint8Array, CannotWrite> =>
  Effect.gen(function* () {
    const fail = (detail: string) => new CannotWrite({ format, detail })
    const type = shapeType(
      layer.geometryType ?? esriGeometryType(layer.features.find((f) => f.geometry !== null)?.geometry)
    )
    if (type === undefined) {
      return yield* fail(
        layer.geometryType === "esriGeometryMultipoint"
          ? "multipoint shapefiles are not written here; write GeoJSON, GeoPackage or KML, or explode the multipoints"
          : "a shapefile needs point, line or polygon features"
      )
    }
    const missing = layer.features.findIndex((f) => f.geometry === null)
    if (missing >= 0)
      return yield* fail(`feature ${missing + 1} has no geometry, which this shapefile writer cannot store`)
    const geometries = yield* Effect.try({
      try: () =>
        layer.features.map((f) => {
          // Terraformer orients rings the Esri (and shapefile) way: outer rings clockwise, holes anticlockwise.
          const esri = geojsonToArcGIS(f.geometry as Geometry) as unknown as {
            x?: number
            y?: number
            paths?: unknown
            rings?: unknown
            points?: unknown
          }
          if (type === "POINT") {
            if (esri.x === undefined) throw new Error("a point layer holds a multipoint")
            return [esri.x, esri.y]
          }
          const parts = type === "POLYLINE" ? esri.paths : esri.rings
          if (!Array.isArray(parts)) throw new Error(`a ${type.toLowerCase()} layer holds a ${f.geometry?.type}`)
          return parts
        }),
      catch: (cause) => fail(describe(cause))
    })
    const fields = FeatureLayer.allFields(layer)
    const names = dbfNames(fields)
    const descriptors = fields.map((f, i) =>
      descriptorOf(
        f,
        names[i] as string,
        layer.features.map((x) => x.attributes[f.name])
      )
    )
    const records = layer.features.map((f) =>
      Object.fromEntries(
        fields.map((field, i) => {
          const v = f.attributes[field.name]
          const d = descriptors[i] as FieldDescriptor
          if (v === null || v === undefined) return [d.name, null]
          if (d.type === "D") return [d.name, new Date(typeof v === "number" ? v : String(v))]
          if (d.type === "N") return [d.name, fitted(typeof v === "number" ? v : Number(v))]
          return [d.name, typeof v === "string" ? v : String(v)]
        })
      )
    )
    const shapes = yield* Effect.try({
      try: () => {
        let out: { shp: DataView; shx: DataView } | undefined
        writeShp([], type, geometries, (error, files) => {
          if (error) throw error
          out = files as unknown as { shp: DataView; shx: DataView }
        })
        if (out === undefined) throw new Error("the shapefile writer answered nothing")
        return out
      },
      catch: (cause) => fail(describe(cause))
    })
    const dbf = yield* withScratch(
      (dir) =>
        Effect.tryPromise({
          try: async () => {
            const path = join(dir, "layer.dbf")
            const file = await DBFFile.create(path, descriptors, { encoding: "utf-8" })
            await file.appendRecords(records)
            return new Uint8Array(await readFile(path))
          },
          catch: (cause) => fail(`the .dbf: ${describe(cause)}`)
        }),
      (cause) => fail(describe(cause))
    )
    const prj = FeatureLayer.wktOf(layer.spatialReference, "esri")
    const name = safeName(layer.name)
    const bytes = (view: DataView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
    return zipSync({
      [`${name}.shp`]: bytes(shapes.shp),
      [`${name}.shx`]: bytes(shapes.shx),
      [`${name}.dbf`]: dbf,
      [`${name}.cpg`]: new TextEncoder().encode("UTF-8"),
      ...(prj === undefined ? {} : { [`${name}.prj`]: new TextEncoder().encode(prj) })
    })
  })
