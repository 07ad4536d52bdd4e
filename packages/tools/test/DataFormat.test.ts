import { assert, describe, it } from "@effect/vitest"
import * as Ogr from "@geojobs/fixtures/Ogr"
import { Effect } from "effect"
import { strToU8, zipSync } from "fflate"
import { serialize } from "flatgeobuf/lib/mjs/geojson.js"
import * as DataFormat from "../src/DataFormat.ts"
import type { EsriFeatureSet } from "../src/EsriGeometry.ts"

const geometryOf = <G>(feature: { readonly geometry?: unknown } | undefined): G => feature?.geometry as G

const day = Date.UTC(2024, 2, 15)
const fields = [
  { name: "name", type: "esriFieldTypeString", alias: "name", length: 40 },
  { name: "count", type: "esriFieldTypeInteger", alias: "count" },
  { name: "ratio", type: "esriFieldTypeDouble", alias: "ratio" },
  { name: "seen", type: "esriFieldTypeDate", alias: "seen" }
]
const attributes = [
  { name: "Zürich café", count: 7, ratio: 2.5, seen: day },
  { name: null, count: null, ratio: null, seen: null },
  { name: "third, with a comma", count: -42, ratio: 0.125, seen: day + 86_400_000 }
]

const points: EsriFeatureSet = {
  geometryType: "esriGeometryPoint",
  spatialReference: { wkid: 4326 },
  fields,
  features: [
    { geometry: { x: 8.54, y: 47.37 }, attributes: attributes[0] },
    { geometry: { x: -0.1276, y: 51.5072 }, attributes: attributes[1] },
    { geometry: { x: 2.35, y: 48.86 }, attributes: attributes[2] }
  ]
}

// A square with a square hole, in Web Mercator (Esri rings: outer clockwise, hole anticlockwise).
const polygons: EsriFeatureSet = {
  geometryType: "esriGeometryPolygon",
  spatialReference: { wkid: 102100, latestWkid: 3857 },
  fields: fields.slice(0, 2),
  features: [
    {
      geometry: {
        rings: [
          [
            [0, 0],
            [0, 1000],
            [1000, 1000],
            [1000, 0],
            [0, 0]
          ],
          [
            [250, 250],
            [750, 250],
            [750, 750],
            [250, 750],
            [250, 250]
          ]
        ]
      },
      attributes: { name: "holed", count: 1 }
    }
  ]
}

const lines: EsriFeatureSet = {
  geometryType: "esriGeometryPolyline",
  spatialReference: { wkid: 4326 },
  fields: fields.slice(0, 1),
  features: [
    {
      geometry: {
        paths: [
          [
            [0, 0],
            [1, 1],
            [2, 0]
          ]
        ]
      },
      attributes: { name: "zigzag" }
    }
  ]
}

const fileOf = (w: DataFormat.Written) => w.fileName

const roundTrip = (fs: EsriFeatureSet, format: DataFormat.WritableFormat, options: DataFormat.WriteOptions = {}) =>
  Effect.gen(function* () {
    const written = yield* DataFormat.write(fs, format, options)
    const read = yield* DataFormat.read(written.bytes, { fileName: written.fileName })
    return { written, read }
  })

const attributesOf = (fs: EsriFeatureSet) => fs.features.map((f) => f.attributes)
const typeOf = (fs: EsriFeatureSet, name: string) => fs.fields?.find((f) => f.name === name)?.type

describe("DataFormat", () => {
  for (const format of DataFormat.writableFormats) {
    it.effect(`${format}: attribute types and nulls survive a round trip`, () =>
      Effect.gen(function* () {
        const { written, read } = yield* roundTrip(points, format)
        assert.strictEqual(written.extension, DataFormat.info[format].extension)
        assert.strictEqual(read.geometryType, "esriGeometryPoint")
        assert.strictEqual(read.spatialReference?.wkid, 4326)
        assert.deepStrictEqual(attributesOf(read), attributes)
        assert.strictEqual(typeOf(read, "name"), "esriFieldTypeString")
        assert.strictEqual(typeOf(read, "count"), "esriFieldTypeInteger")
        assert.strictEqual(typeOf(read, "ratio"), "esriFieldTypeDouble")
        assert.strictEqual(typeOf(read, "seen"), "esriFieldTypeDate")
        const first = read.features[0]?.geometry as { x: number; y: number }
        assert.closeTo(first.x, 8.54, 1e-9)
        assert.closeTo(first.y, 47.37, 1e-9)
        if (Ogr.available) {
          const ogr = Ogr.summary(written.bytes, fileOf(written))
          assert.strictEqual(ogr.featureCount, 3, ogr.text)
          // GDAL's KML driver shows a placemark's name as its own "Name" field.
          const names = Object.keys(ogr.fields).map((n) => n.toLowerCase())
          for (const name of ["name", "count", "ratio", "seen"]) assert.include(names, name, ogr.text)
          if (format === "shapefile" || format === "geopackage") {
            assert.deepInclude(ogr.fields, {
              name: "String",
              count: "Integer",
              ratio: "Real",
              seen: format === "shapefile" ? "Date" : "DateTime"
            })
          }
          if (format !== "csv") assert.strictEqual(ogr.epsg, 4326, ogr.text)
        }
      })
    )
  }

  for (const format of ["shapefile", "geopackage", "geojson", "kml", "csv"] as const) {
    it.effect(
      `${format}: a polygon with a hole keeps its hole (and its Web Mercator SRS where the format has one)`,
      () =>
        Effect.gen(function* () {
          const { written, read } = yield* roundTrip(polygons, format)
          const rings = geometryOf<{ rings: Array<Array<[number, number]>> }>(read.features[0]).rings
          assert.lengthOf(rings, 2, "outer ring and hole")
          const keepsSrs = format === "shapefile" || format === "geopackage" || format === "csv"
          if (keepsSrs) {
            if (format !== "csv") assert.strictEqual(read.spatialReference?.latestWkid, 3857)
            const xs = rings.flat().map(([x]) => x)
            assert.closeTo(Math.max(...xs), 1000, 1e-6)
          } else {
            // GeoJSON and KML are WGS84: 1000 m east of 0° is 0.00898° of longitude.
            assert.strictEqual(read.spatialReference?.wkid, 4326)
            const xs = rings.flat().map(([x]) => x)
            assert.closeTo(Math.max(...xs), 0.008983152841195214, 1e-9)
          }
          assert.strictEqual(read.features[0]?.attributes?.name, "holed")
          if (Ogr.available) {
            const ogr = Ogr.summary(written.bytes, fileOf(written))
            assert.strictEqual(ogr.featureCount, 1, ogr.text)
            if (format === "shapefile" || format === "geopackage") assert.strictEqual(ogr.epsg, 3857, ogr.text)
            if (format !== "csv" && format !== "kml") assert.match(ogr.geometry ?? "", /Polygon/i)
          }
        })
    )
  }

  for (const format of ["shapefile", "geopackage", "geojson", "kml", "csv"] as const) {
    it.effect(`${format}: lines survive a round trip`, () =>
      Effect.gen(function* () {
        const { read } = yield* roundTrip(lines, format)
        assert.strictEqual(read.geometryType, "esriGeometryPolyline")
        const paths = geometryOf<{ paths: Array<Array<[number, number]>> }>(read.features[0]).paths
        assert.deepStrictEqual(paths, [
          [
            [0, 0],
            [1, 1],
            [2, 0]
          ]
        ])
      })
    )
  }

  it.effect("writes in another coordinate system when asked (outSR), with a .prj and srs that say so", () =>
    Effect.gen(function* () {
      for (const format of ["shapefile", "geopackage"] as const) {
        const written = yield* DataFormat.write(points, format, { outSR: 3857 })
        const read = yield* DataFormat.read(written.bytes)
        assert.strictEqual(read.spatialReference?.latestWkid, 3857)
        const x = geometryOf<{ x: number }>(read.features[0]).x
        assert.closeTo(x, 950_668.45, 0.01)
        const back = yield* DataFormat.read(written.bytes, { outSR: 4326 })
        assert.closeTo(geometryOf<{ x: number }>(back.features[0]).x, 8.54, 1e-9)
        if (Ogr.available) assert.strictEqual(Ogr.summary(written.bytes, written.fileName).epsg, 3857)
      }
    })
  )

  it.effect("reads a .prj of EPSG:3857 written by ArcGIS and reprojects it to WGS84", () =>
    Effect.gen(function* () {
      const written = yield* DataFormat.write(polygons, "shapefile", { name: "parcels" })
      const read = yield* DataFormat.read(written.bytes, { outSR: 4326 })
      assert.strictEqual(read.spatialReference?.wkid, 4326)
      const xs = geometryOf<{ rings: Array<Array<[number, number]>> }>(read.features[0])
        .rings.flat()
        .map(([x]) => x)
      assert.closeTo(Math.max(...xs), 0.008983152841195214, 1e-12)
      assert.strictEqual(written.fileName, "parcels.zip")
    })
  )

  it.effect("reads a GeoPackage and a FlatGeobuf written by GDAL (EPSG:3857), types and nulls included", () =>
    Effect.gen(function* () {
      if (!Ogr.available) return
      const geojson = {
        type: "FeatureCollection",
        features: [
          {
            type: "Feature",
            geometry: { type: "Point", coordinates: [10, 0] },
            properties: { label: "a", n: 3, v: 1.5, d: "2024-03-15T00:00:00Z" }
          },
          {
            type: "Feature",
            geometry: { type: "Point", coordinates: [0, 0] },
            properties: { label: null, n: null, v: null, d: null }
          }
        ]
      }
      for (const fileName of ["gdal.gpkg", "gdal.fgb"]) {
        const bytes = Ogr.convert(geojson, fileName, ["-t_srs", "EPSG:3857"])
        const read = yield* DataFormat.read(bytes, { fileName })
        assert.strictEqual(read.spatialReference?.latestWkid, 3857, fileName)
        assert.closeTo(geometryOf<{ x: number }>(read.features[0]).x, 1_113_194.9079327357, 1e-6)
        assert.deepStrictEqual(attributesOf(read)[0], { label: "a", n: 3, v: 1.5, d: day }, fileName)
        assert.deepStrictEqual(attributesOf(read)[1], { label: null, n: null, v: null, d: null }, fileName)
        assert.strictEqual(
          typeOf(read, "n"),
          fileName.endsWith("gpkg") ? "esriFieldTypeInteger" : "esriFieldTypeInteger"
        )
        assert.strictEqual(typeOf(read, "v"), "esriFieldTypeDouble")
        assert.strictEqual(typeOf(read, "d"), "esriFieldTypeDate")
        const wgs84 = yield* DataFormat.read(bytes, { fileName, outSR: 4326 })
        assert.closeTo(geometryOf<{ x: number }>(wgs84.features[0]).x, 10, 1e-9)
      }
    })
  )

  it.effect("reads FlatGeobuf written by the flatgeobuf library, with its CRS code", () =>
    Effect.gen(function* () {
      const bytes = serialize(
        {
          type: "FeatureCollection",
          features: [
            {
              type: "Feature",
              geometry: { type: "Point", coordinates: [500000, 0] },
              properties: { id: 1.5, label: "x" }
            }
          ]
        },
        32633
      )
      assert.strictEqual(yield* DataFormat.detect(bytes), "flatgeobuf")
      const read = yield* DataFormat.read(bytes, { outSR: 4326 })
      assert.closeTo(geometryOf<{ x: number }>(read.features[0]).x, 15, 1e-9)
      assert.deepStrictEqual(read.features[0]?.attributes, { id: 1.5, label: "x" })
    })
  )

  it.effect("reads CSV with lon/lat columns or a WKT column, in the coordinate system asked", () =>
    Effect.gen(function* () {
      const lonLat = strToU8("id,Name,Longitude,Latitude\n1,a,10,20\n2,b,,\n")
      const read = yield* DataFormat.read(lonLat, { fileName: "places.csv" })
      assert.deepStrictEqual(read.features[0], { geometry: { x: 10, y: 20 }, attributes: { id: 1, Name: "a" } })
      assert.strictEqual(read.features[1]?.geometry, null)
      const wkt = strToU8('name;wkt\n"x";"LINESTRING (0 0, 1000 0)"\n')
      const projected = yield* DataFormat.read(wkt, {
        format: "csv",
        csv: { spatialReference: { wkid: 3857 } },
        outSR: 4326
      })
      assert.closeTo(
        geometryOf<{ paths: Array<Array<Array<number>>> }>(projected.features[0]).paths[0]?.[1]?.[0] ?? 0,
        0.00898315,
        1e-8
      )
      const custom = strToU8("e,n,v\n1,2,x\n")
      const named = yield* DataFormat.read(custom, { format: "csv", csv: { xColumn: "e", yColumn: "n" } })
      assert.deepStrictEqual(named.features[0]?.geometry, { x: 1, y: 2 })
      const missing = yield* Effect.flip(
        DataFormat.read(custom, { format: "csv", csv: { xColumn: "east", yColumn: "n" } })
      )
      assert.strictEqual(missing._tag, "MissingPart")
    })
  )

  it.effect("detects each format from its bytes", () =>
    Effect.gen(function* () {
      for (const format of DataFormat.writableFormats) {
        const written = yield* DataFormat.write(points, format)
        assert.strictEqual(yield* DataFormat.detect(written.bytes), format === "csv" ? "csv" : format)
      }
    })
  )

  it.effect("fails with a tagged error naming the problem", () =>
    Effect.gen(function* () {
      const badZip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3])
      assert.strictEqual((yield* Effect.flip(DataFormat.read(badZip, { format: "shapefile" })))._tag, "BadArchive")
      const noShp = zipSync({ "readme.txt": strToU8("hello") })
      const detected = yield* Effect.flip(DataFormat.read(noShp))
      assert.strictEqual(detected._tag, "UnknownFormat")
      const asked = yield* Effect.flip(DataFormat.read(noShp, { format: "shp" }))
      assert.strictEqual(asked._tag, "MissingPart")
      assert.match(asked.message, /\.shp/)
      const noDbf = yield* Effect.gen(function* () {
        const written = yield* DataFormat.write(points, "shapefile")
        const { unzipSync } = yield* Effect.promise(() => import("fflate"))
        const files = unzipSync(written.bytes)
        delete files["features.dbf"]
        return yield* Effect.flip(DataFormat.read(zipSync(files)))
      })
      assert.strictEqual(noDbf._tag, "MissingPart")
      assert.match(noDbf.message, /\.dbf/)
      assert.strictEqual((yield* Effect.flip(DataFormat.read(strToU8("\u0000\u0001binary"))))._tag, "UnknownFormat")
      assert.strictEqual((yield* Effect.flip(DataFormat.write(points, "dwg")))._tag, "UnknownFormat")
      assert.strictEqual(
        (yield* Effect.flip(DataFormat.read(strToU8("{not json"), { format: "geojson" })))._tag,
        "UnreadableData"
      )
      assert.strictEqual(
        (yield* Effect.flip(DataFormat.read(strToU8("<kml><oops"), { format: "kml" })))._tag,
        "UnreadableData"
      )
      const multipoint = {
        ...points,
        geometryType: "esriGeometryMultipoint",
        features: [
          {
            geometry: {
              points: [
                [1, 2],
                [3, 4]
              ]
            },
            attributes: {}
          }
        ]
      }
      const cannot = yield* Effect.flip(DataFormat.write(multipoint, "shapefile"))
      assert.strictEqual(cannot._tag, "CannotWrite")
      const srs = yield* Effect.flip(DataFormat.write(points, "geopackage", { outSR: 999999 }))
      assert.strictEqual(srs._tag, "UnknownCoordinateSystem")
    })
  )

  it.effect("reads a KMZ and a shapefile zipped inside a folder", () =>
    Effect.gen(function* () {
      const kmz = yield* DataFormat.write(points, "kmz")
      const read = yield* DataFormat.read(kmz.bytes)
      assert.lengthOf(read.features, 3)
      const shp = yield* DataFormat.write(points, "shapefile")
      const { unzipSync } = yield* Effect.promise(() => import("fflate"))
      const nested = zipSync(
        Object.fromEntries(Object.entries(unzipSync(shp.bytes)).map(([k, v]) => [`export/${k}`, v]))
      )
      const fromFolder = yield* DataFormat.read(nested)
      assert.deepStrictEqual(attributesOf(fromFolder), attributes)
    })
  )
})
