/**
 * GeoPackage files (OGC 12-128r18): an SQLite database, opened with `node:sqlite`, whose feature tables are listed in
 * `gpkg_contents` and `gpkg_geometry_columns`, their coordinate systems in `gpkg_spatial_ref_sys`, and whose geometry
 * blobs are a GeoPackage header followed by WKB (wkx). Column types follow the declared SQLite types (INTEGER and its
 * kin, REAL/DOUBLE/FLOAT, TEXT, DATE, DATETIME, BOOLEAN); SQL NULL is `null`. Written GeoPackages hold one feature table
 * (or an attribute table for features without geometry) with an `fid` key, and open in QGIS and GDAL.
 *
 * @module
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect } from "effect"
import type { Geometry, Position } from "geojson"
import wkx from "wkx"
import { CannotWrite, describe, MissingPart, UnreadableData } from "./DataFormatError.ts"
import { esriGeometryType, type Field, type SpatialReference } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

const format = "GeoPackage"

const withFile = <A, E>(
  bytes: Uint8Array | undefined,
  use: (path: string) => Effect.Effect<A, E>,
  onError: (cause: unknown) => E
): Effect.Effect<A, E> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        const dir = await mkdtemp(join(tmpdir(), "geojobs-gpkg-"))
        if (bytes !== undefined) await writeFile(join(dir, "layer.gpkg"), bytes)
        return dir
      },
      catch: onError
    }),
    (dir) => use(join(dir, "layer.gpkg")),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/** The WKB inside a GeoPackage geometry blob (after its header and envelope). */
const wkbOf = (blob: Uint8Array): Uint8Array | undefined => {
  if (blob[0] !== 0x47 || blob[1] !== 0x50) throw new Error("a geometry blob without the GP magic")
  const flags = blob[3] ?? 0
  if ((flags & 0b10000) !== 0) return undefined
  const envelope = [0, 32, 48, 48, 64][(flags >> 1) & 0b111]
  if (envelope === undefined) throw new Error("a geometry blob with an unknown envelope")
  return blob.subarray(8 + envelope)
}

const fieldOf = (name: string, declared: string): Field => {
  const type = declared.toUpperCase()
  if (/^(INTEGER|INT|MEDIUMINT)$/.test(type))
    return { name, type: type === "MEDIUMINT" ? "esriFieldTypeInteger" : "esriFieldTypeBigInteger", alias: name }
  if (/^(SMALLINT|TINYINT|BOOLEAN)$/.test(type)) return { name, type: "esriFieldTypeSmallInteger", alias: name }
  if (/^(REAL|DOUBLE|FLOAT)$/.test(type))
    return { name, type: type === "FLOAT" ? "esriFieldTypeSingle" : "esriFieldTypeDouble", alias: name }
  if (type === "DATE" || type === "DATETIME") return { name, type: "esriFieldTypeDate", alias: name }
  const length = /^TEXT\((\d+)\)$/.exec(type)?.[1]
  return { name, type: "esriFieldTypeString", alias: name, ...(length === undefined ? {} : { length: Number(length) }) }
}

const attributeOf = (field: Field, v: unknown): unknown => {
  if (v === null || v === undefined) return null
  if (field.type === "esriFieldTypeDate" && typeof v === "string") {
    const ms = Date.parse(/^\d{4}-\d\d-\d\d$/.test(v) ? `${v}T00:00:00Z` : /(Z|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`)
    return Number.isNaN(ms) ? null : ms
  }
  if (typeof v === "bigint") return Number(v)
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64")
  return v
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`

/**
 * Reads a GeoPackage's feature table named `layer` (by default the first feature table, or else the first
 * attribute table).
 *
 * @category constructors
 */
export const read = (
  bytes: Uint8Array,
  layer?: string
): Effect.Effect<FeatureLayer.FeatureLayer, MissingPart | UnreadableData> =>
  withFile(
    bytes,
    (path) =>
      Effect.gen(function* () {
        const unreadable = (cause: unknown) => new UnreadableData({ format, detail: describe(cause) })
        const db = yield* Effect.try({ try: () => new DatabaseSync(path, { readOnly: true }), catch: unreadable })
        try {
          const contents = yield* Effect.try({
            try: () =>
              db
                .prepare(
                  "SELECT table_name, data_type FROM gpkg_contents WHERE data_type IN ('features','attributes') ORDER BY data_type DESC, table_name"
                )
                .all() as Array<{ table_name: string; data_type: string }>,
            catch: (cause) => new UnreadableData({ format, detail: `not a GeoPackage (${describe(cause)})` })
          })
          const table =
            layer === undefined ? contents[0] : contents.find((c) => c.table_name.toLowerCase() === layer.toLowerCase())
          if (table === undefined) {
            return yield* new MissingPart({
              format,
              part: layer === undefined ? "feature table" : `table named ${layer}`,
              detail:
                contents.length === 0
                  ? "gpkg_contents lists none"
                  : `it has ${contents.map((c) => c.table_name).join(", ")}`
            })
          }
          return yield* Effect.try({
            try: () => {
              const geometryColumn = db
                .prepare("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?")
                .get(table.table_name) as { column_name: string; srs_id: number } | undefined
              const srs =
                geometryColumn === undefined
                  ? undefined
                  : (db
                      .prepare(
                        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?"
                      )
                      .get(geometryColumn.srs_id) as
                      | { organization: string; organization_coordsys_id: number; definition: string }
                      | undefined)
              let spatialReference: SpatialReference = { wkid: 4326, latestWkid: 4326 }
              if (srs !== undefined) {
                const byCode =
                  srs.organization.toUpperCase() === "EPSG"
                    ? FeatureLayer.spatialReferenceFromWkt(`X["",AUTHORITY["EPSG","${srs.organization_coordsys_id}"]]`)
                    : {}
                spatialReference =
                  byCode.wkid !== undefined
                    ? byCode
                    : srs.definition && srs.definition !== "undefined"
                      ? FeatureLayer.spatialReferenceFromWkt(srs.definition)
                      : spatialReference
              }
              const columns = db.prepare(`PRAGMA table_info(${quote(table.table_name)})`).all() as Array<{
                name: string
                type: string
                pk: number
              }>
              const fields = columns
                .filter((c) => c.name !== geometryColumn?.column_name && !(c.pk === 1 && /^INTEGER$/i.test(c.type)))
                .map((c) => fieldOf(c.name, c.type))
              const rows = db.prepare(`SELECT * FROM ${quote(table.table_name)}`).all() as Array<
                Record<string, unknown>
              >
              return {
                name: table.table_name,
                spatialReference,
                fields,
                features: rows.map((row) => {
                  const blob = geometryColumn === undefined ? null : row[geometryColumn.column_name]
                  const wkb = blob instanceof Uint8Array ? wkbOf(blob) : undefined
                  return {
                    geometry: wkb === undefined ? null : (wkx.Geometry.parse(Buffer.from(wkb)).toGeoJSON() as Geometry),
                    attributes: Object.fromEntries(fields.map((f) => [f.name, attributeOf(f, row[f.name])]))
                  }
                })
              }
            },
            catch: unreadable
          }).pipe(Effect.flatMap((l) => FeatureLayer.make(format, l)))
        } finally {
          db.close()
        }
      }),
    (cause) => new UnreadableData({ format, detail: describe(cause) })
  )

const positionsOf = (g: Geometry): Array<Position> =>
  g.type === "Point"
    ? [g.coordinates]
    : g.type === "MultiPoint" || g.type === "LineString"
      ? g.coordinates
      : g.type === "MultiLineString" || g.type === "Polygon"
        ? g.coordinates.flat()
        : g.type === "MultiPolygon"
          ? g.coordinates.flat(2)
          : g.geometries.flatMap(positionsOf)

/** A GeoPackage geometry blob: header (little-endian, xy envelope) and WKB. */
const blobOf = (g: Geometry, srsId: number): Uint8Array => {
  const wkb = wkx.Geometry.parseGeoJSON(g).toWkb()
  const positions = positionsOf(g)
  const header = Buffer.alloc(40)
  header.write("GP", 0, "ascii")
  header.writeUInt8(0, 2)
  header.writeUInt8(0b011, 3)
  header.writeInt32LE(srsId, 4)
  const xs = positions.map((p) => p[0] ?? 0)
  const ys = positions.map((p) => p[1] ?? 0)
  const envelope = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]
  for (const [i, v] of envelope.entries()) header.writeDoubleLE(v, 8 + i * 8)
  return Buffer.concat([header, wkb])
}

const sqlType = (field: Field, values: ReadonlyArray<unknown>): string => {
  const type = field.type ?? "esriFieldTypeString"
  if (type === "esriFieldTypeSmallInteger") return "SMALLINT"
  if (type === "esriFieldTypeInteger" || type === "esriFieldTypeOID")
    return values.every((v) => typeof v !== "number" || Math.abs(v) <= 2_147_483_647) ? "MEDIUMINT" : "INTEGER"
  if (FeatureLayer.integerTypes.has(type)) return "INTEGER"
  if (type === "esriFieldTypeSingle") return "FLOAT"
  if (FeatureLayer.realTypes.has(type)) return "REAL"
  if (type === "esriFieldTypeDateOnly") return "DATE"
  if (FeatureLayer.dateTypes.has(type)) return "DATETIME"
  return typeof field.length === "number" && field.length > 0 && field.length < 2_147_483_647
    ? `TEXT(${field.length})`
    : "TEXT"
}

const gpkgGeometryType = (layer: FeatureLayer.FeatureLayer): string => {
  const types = new Set(layer.features.flatMap((f) => (f.geometry === null ? [] : [f.geometry.type.toUpperCase()])))
  if (types.size === 1) return [...types][0]?.replace("LINESTRING", "LINESTRING") ?? "GEOMETRY"
  const kind = layer.geometryType ?? esriGeometryType(layer.features.find((f) => f.geometry)?.geometry)
  return kind === "esriGeometryPoint" || kind === "esriGeometryMultipoint"
    ? "MULTIPOINT"
    : kind === "esriGeometryPolyline"
      ? "MULTILINESTRING"
      : kind === "esriGeometryPolygon"
        ? "MULTIPOLYGON"
        : "GEOMETRY"
}

/** A geometry as the declared multi type of its column, when it is the single kind. */
const promote = (g: Geometry, columnType: string): Geometry =>
  columnType === "MULTIPOINT" && g.type === "Point"
    ? { type: "MultiPoint", coordinates: [g.coordinates] }
    : columnType === "MULTILINESTRING" && g.type === "LineString"
      ? { type: "MultiLineString", coordinates: [g.coordinates] }
      : columnType === "MULTIPOLYGON" && g.type === "Polygon"
        ? { type: "MultiPolygon", coordinates: [g.coordinates] }
        : g

/**
 * Writes a layer as a GeoPackage of one table named after the layer.
 *
 * @category constructors
 */
export const write = (layer: FeatureLayer.FeatureLayer): Effect.Effect<Uint8Array, CannotWrite> =>
  withFile(
    undefined,
    (path) =>
      Effect.tryPromise({
        try: async () => {
          const fields = FeatureLayer.allFields(layer).filter((f) => !/^(fid|geom)$/i.test(f.name))
          const table = layer.name.replace(/[^\w]+/g, "_") || "features"
          const spatial = layer.geometryType !== undefined || layer.features.some((f) => f.geometry !== null)
          const code = FeatureLayer.epsgOf(layer.spatialReference)
          const wkt = FeatureLayer.wktOf(layer.spatialReference, "ogc")
          const known = code !== undefined && wkt !== undefined && code === FeatureLayer.wkidFromWkt(wkt)
          const srsId = known ? code : wkt === undefined ? 0 : 100000
          const db = new DatabaseSync(path)
          try {
            db.exec(`
              PRAGMA application_id = 1196444487;
              PRAGMA user_version = 10400;
              CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
                organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
              INSERT INTO gpkg_spatial_ref_sys VALUES
                ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
                ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
              CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
                description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
                min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
                CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
              CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
                geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
                CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
                CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
                CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
            `)
            // Every GeoPackage lists WGS84 (requirement 11), whatever its tables use.
            db.prepare("INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?, NULL)").run(
              FeatureLayer.wktOf({ wkid: 4326 }, "ogc") ?? "undefined"
            )
            if (srsId > 0) {
              db.prepare("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, NULL)").run(
                known ? `EPSG:${code}` : "Custom",
                srsId,
                known ? "EPSG" : "NONE",
                known ? code : srsId,
                wkt ?? "undefined"
              )
            }
            const columnType = gpkgGeometryType(layer)
            const hasZ = layer.features.some(
              (f) => f.geometry !== null && positionsOf(f.geometry).some((p) => p.length > 2)
            )
            const columns = fields.map(
              (f) =>
                `${quote(f.name)} ${sqlType(
                  f,
                  layer.features.map((x) => x.attributes[f.name])
                )}`
            )
            db.exec(
              `CREATE TABLE ${quote(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL${spatial ? `, geom ${columnType}` : ""}${columns.map((c) => `, ${c}`).join("")})`
            )
            const positions = layer.features.flatMap((f) => (f.geometry === null ? [] : positionsOf(f.geometry)))
            const bounds =
              positions.length === 0
                ? [null, null, null, null]
                : [
                    Math.min(...positions.map((p) => p[0] ?? 0)),
                    Math.min(...positions.map((p) => p[1] ?? 0)),
                    Math.max(...positions.map((p) => p[0] ?? 0)),
                    Math.max(...positions.map((p) => p[1] ?? 0))
                  ]
            db.prepare(
              "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ).run(table, spatial ? "features" : "attributes", table, ...bounds, spatial ? srsId : null)
            if (spatial) {
              db.prepare("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, ?, 0)").run(
                table,
                columnType,
                srsId,
                hasZ ? 1 : 0
              )
            }
            const insert = db.prepare(
              `INSERT INTO ${quote(table)} (${[...(spatial ? ["geom"] : []), ...fields.map((f) => quote(f.name))].join(", ") || "fid"}) VALUES (${[...(spatial ? ["?"] : []), ...fields.map(() => "?")].join(", ") || "NULL"})`
            )
            db.exec("BEGIN")
            for (const f of layer.features) {
              const values = fields.map((field) => {
                const v = f.attributes[field.name]
                if (v === null || v === undefined) return null
                const declared = sqlType(field, [v])
                if (declared === "DATETIME" || declared === "DATE") {
                  const iso = new Date(typeof v === "number" ? v : String(v)).toISOString()
                  return declared === "DATE" ? iso.slice(0, 10) : iso
                }
                if (typeof v === "boolean") return v ? 1 : 0
                if (typeof v === "number" || typeof v === "string") return v
                return JSON.stringify(v)
              })
              insert.run(
                ...(spatial ? [f.geometry === null ? null : blobOf(promote(f.geometry, columnType), srsId)] : []),
                ...values
              )
            }
            db.exec("COMMIT")
          } finally {
            db.close()
          }
          return new Uint8Array(await readFile(path))
        },
        catch: (cause) => new CannotWrite({ format, detail: describe(cause) })
      }),
    (cause) => new CannotWrite({ format, detail: describe(cause) })
  )
