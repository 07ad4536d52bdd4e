import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Ogr from "@geojobs/fixtures/Ogr"
import { Effect } from "effect"
import { unzipSync } from "fflate"
import ConvertFeatures from "../src/builtin/ConvertFeatures.ts"
import ExtractData from "../src/builtin/ExtractData.ts"
import * as Builtin from "../src/builtin/index.ts"
import * as DataFormat from "../src/DataFormat.ts"
import type { EsriFeatureSet } from "../src/EsriGeometry.ts"
import { loadTool } from "../src/ToolModule.ts"

const geometryOf = <G>(feature: { readonly geometry?: unknown } | undefined): G => feature?.geometry as G

type Reports = Array<[number | undefined, string | undefined]>

const job = () => {
  const reports: Reports = []
  return {
    reports,
    ctx: {
      jobId: "j0",
      signal: new AbortController().signal,
      progress: (p: number | undefined, m?: string) => reports.push([p, m]),
      message: () => {},
      outputDir: mkdtempSync(join(tmpdir(), "geojobs-job-"))
    }
  }
}

const cities: EsriFeatureSet = {
  geometryType: "esriGeometryPoint",
  spatialReference: { wkid: 4326 },
  fields: [
    { name: "city", type: "esriFieldTypeString" },
    { name: "pop", type: "esriFieldTypeInteger" }
  ],
  features: [
    { geometry: { x: 8.54, y: 47.37 }, attributes: { city: "Zürich", pop: 421_000 } },
    { geometry: { x: 7.45, y: 46.95 }, attributes: { city: "Bern", pop: 134_000 } },
    { geometry: { x: 2.35, y: 48.86 }, attributes: { city: "Paris", pop: null } }
  ]
}

const roads: EsriFeatureSet & { name: string } = {
  name: "roads",
  geometryType: "esriGeometryPolyline",
  spatialReference: { wkid: 4326 },
  fields: [{ name: "ref", type: "esriFieldTypeString" }],
  features: [
    {
      geometry: {
        paths: [
          [
            [5, 47],
            [10, 47]
          ]
        ]
      },
      attributes: { ref: "A1" }
    }
  ]
}

// Switzerland, roughly.
const swiss: EsriFeatureSet = {
  geometryType: "esriGeometryPolygon",
  spatialReference: { wkid: 4326 },
  features: [
    {
      geometry: {
        rings: [
          [
            [6, 45.8],
            [6, 47.8],
            [10.5, 47.8],
            [10.5, 45.8],
            [6, 45.8]
          ]
        ]
      },
      attributes: {}
    }
  ]
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail("should have failed"),
    (e: unknown) => (e instanceof Error ? e.message : String(e))
  )

describe("ConvertFeatures and ExtractData", () => {
  it.effect("both are built-in tools", () =>
    Effect.gen(function* () {
      for (const name of ["ConvertFeatures", "ExtractData"] as const) {
        assert.isTrue(Builtin.isBuiltin(name))
        assert.strictEqual((yield* loadTool(Builtin.modules[name])).name, name)
      }
    })
  )

  it.effect("ConvertFeatures: a zipped shapefile in the job's folder to a GeoPackage in WGS84", () =>
    Effect.gen(function* () {
      const run = job()
      const shp = yield* DataFormat.write(cities, "shapefile", { outSR: 3857, name: "cities" })
      writeFileSync(join(run.ctx.outputDir, "upload.zip"), shp.bytes)
      const out = yield* Effect.promise(async () =>
        ConvertFeatures.execute(
          {
            Input_File: { itemID: "i1", path: "upload.zip" },
            Output_Format: "geopackage",
            Output_Coordinate_System: "4326"
          },
          run.ctx
        )
      )
      assert.deepStrictEqual(out, { Output_File: { path: "cities.gpkg" }, Output_Features: null })
      const bytes = new Uint8Array(readFileSync(join(run.ctx.outputDir, "cities.gpkg")))
      const read = yield* DataFormat.read(bytes)
      assert.strictEqual(read.spatialReference?.wkid, 4326)
      assert.closeTo(geometryOf<{ x: number }>(read.features[0]).x, 8.54, 1e-9)
      assert.deepStrictEqual(
        read.features.map((f) => f.attributes),
        cities.features.map((f) => f.attributes)
      )
      assert.strictEqual(run.reports.at(-1)?.[0], 100)
      if (Ogr.available) {
        const ogr = Ogr.summary(bytes, "cities.gpkg")
        assert.strictEqual(ogr.featureCount, 3)
        assert.strictEqual(ogr.epsg, 4326)
        assert.deepInclude(ogr.fields, { city: "String", pop: "Integer" })
      }
    })
  )

  it.effect("ConvertFeatures: a feature set to a feature set in another coordinate system, or to KML", () =>
    Effect.gen(function* () {
      const run = job()
      const out = yield* Effect.promise(async () =>
        ConvertFeatures.execute(
          { Input_Features: cities, Output_Format: "featureset", Output_Coordinate_System: "3857" },
          run.ctx
        )
      )
      const features = out.Output_Features as EsriFeatureSet
      assert.strictEqual(features.spatialReference?.latestWkid, 3857)
      assert.closeTo(geometryOf<{ x: number }>(features.features[0]).x, 950_668.45, 0.01)
      const kml = yield* Effect.promise(async () =>
        ConvertFeatures.execute({ Input_Features: cities, Output_Format: "kml", Output_Name: "my cities" }, run.ctx)
      )
      assert.deepStrictEqual(kml.Output_File, { path: "my_cities.kml" })
      assert.include(
        readFileSync(join(run.ctx.outputDir, "my_cities.kml"), "utf8"),
        '<Data name="city"><value>Zürich</value></Data>'
      )
    })
  )

  it.effect("ConvertFeatures: fails with a clear message for inputs it cannot read", () =>
    Effect.gen(function* () {
      const run = job()
      const byUrl = yield* Effect.promise(() =>
        failure(
          Promise.resolve().then(() =>
            ConvertFeatures.execute({ Input_File: { url: "https://example.com/a.zip" }, Output_Format: "csv" }, run.ctx)
          )
        )
      )
      assert.match(byUrl, /files by URL are not fetched by the tool itself/)
      const outside = yield* Effect.promise(() =>
        failure(
          Promise.resolve().then(() =>
            ConvertFeatures.execute({ Input_File: { path: "../../etc/passwd" }, Output_Format: "csv" }, run.ctx)
          )
        )
      )
      assert.match(outside, /outside/)
      writeFileSync(join(run.ctx.outputDir, "broken.zip"), new Uint8Array([0x50, 0x4b, 0x03, 0x04, 9, 9]))
      const broken = yield* Effect.promise(() =>
        failure(
          Promise.resolve().then(() =>
            ConvertFeatures.execute({ Input_File: { path: "broken.zip" }, Output_Format: "csv" }, run.ctx)
          )
        )
      )
      assert.match(broken, /not a readable zip archive/)
      const nothing = yield* Effect.promise(() =>
        failure(Promise.resolve().then(() => ConvertFeatures.execute({ Output_Format: "csv" }, run.ctx)))
      )
      assert.match(nothing, /Input_File or Input_Features/)
    })
  )

  it.effect("ExtractData: one layer clipped to an area of interest, as a GeoPackage", () =>
    Effect.gen(function* () {
      const run = job()
      const out = yield* Effect.promise(async () =>
        ExtractData.execute(
          { Layers_To_Clip: [cities], Area_Of_Interest: swiss, Feature_Format: "geopackage", Output_Name: "extract" },
          run.ctx
        )
      )
      assert.deepStrictEqual(out, { Output_Zip_File: { path: "extract.gpkg" } })
      const bytes = new Uint8Array(readFileSync(join(run.ctx.outputDir, "extract.gpkg")))
      const read = yield* DataFormat.read(bytes)
      assert.deepStrictEqual(
        read.features.map((f) => f.attributes?.city),
        ["Zürich", "Bern"]
      )
      if (Ogr.available) {
        const ogr = Ogr.summary(bytes, "extract.gpkg")
        assert.strictEqual(ogr.featureCount, 2)
        assert.deepInclude(ogr.fields, { city: "String", pop: "Integer" })
      }
    })
  )

  it.effect("ExtractData: several layers as shapefiles in one zip, lines cut at the boundary, reprojected", () =>
    Effect.gen(function* () {
      const run = job()
      yield* Effect.promise(async () =>
        ExtractData.execute(
          {
            Layers_To_Clip: [cities, roads],
            Area_Of_Interest: swiss,
            Feature_Format: "shapefile",
            Output_Coordinate_System: "3857",
            Output_Name: "extract"
          },
          run.ctx
        )
      )
      const bytes = new Uint8Array(readFileSync(join(run.ctx.outputDir, "extract.zip")))
      const names = Object.keys(unzipSync(bytes)).sort()
      assert.includeMembers(names, ["Layer_1.shp", "Layer_1.dbf", "Layer_1.prj", "roads.shp", "roads.dbf", "roads.prj"])
      const road = yield* DataFormat.read(bytes, { layer: "roads", outSR: 4326 })
      const path = geometryOf<{ paths: Array<Array<[number, number]>> }>(road.features[0]).paths[0] ?? []
      assert.closeTo(path[0]?.[0] ?? 0, 6, 1e-6)
      assert.closeTo(path.at(-1)?.[0] ?? 0, 10, 1e-6)
      const percents = run.reports.map(([p]) => p ?? 0)
      assert.deepStrictEqual(
        [...percents].sort((a, b) => a - b),
        percents,
        "progress only grows"
      )
      if (Ogr.available) {
        const ogr = Ogr.summary(bytes, "extract.zip")
        assert.match(ogr.text, /Layer name: roads/)
        assert.match(ogr.text, /Layer name: Layer_1/)
        assert.strictEqual(ogr.epsg, 3857)
      }
    })
  )

  it.effect("ExtractData: every layer whole when there is no area of interest, as CSV", () =>
    Effect.gen(function* () {
      const run = job()
      yield* Effect.promise(async () =>
        ExtractData.execute({ Layers_To_Clip: [cities], Feature_Format: "csv", Output_Name: "all" }, run.ctx)
      )
      const text = readFileSync(join(run.ctx.outputDir, "all.csv"), "utf8")
      assert.strictEqual(text.trim().split("\n").length, 4)
      assert.match(text, /^WKT,city,pop\nPOINT\(8\.54 47\.37\),Zürich,421000\n/)
    })
  )
})
