import { tmpdir } from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as Fixtures from "@geojobs/fixtures"
import { area } from "@turf/area"
import { Effect } from "effect"
import * as Builtin from "../src/builtin/index.ts"
import * as EsriGeometry from "../src/EsriGeometry.ts"
import { decodeInputs } from "../src/GPValue.ts"
import type { Tool, ToolInputs } from "../src/Tool.ts"
import { loadTool } from "../src/ToolModule.ts"

const context = (signal = new AbortController().signal) => ({
  jobId: "j0",
  signal,
  progress: () => {},
  message: () => {},
  outputDir: tmpdir()
})
const tool = (name: Builtin.BuiltinName): Promise<Tool> => Effect.runPromise(loadTool(Builtin.modules[name]))

/** Decodes raw form fields as the server would, then runs the tool. */
const run = async (name: Builtin.BuiltinName, raw: Record<string, unknown>) => {
  const t = await tool(name)
  const decoded = await Effect.runPromise(decodeInputs(t, raw))
  const inputs: ToolInputs = Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, v.value]))
  return (await t.execute(inputs, context())) as Record<string, EsriGeometry.EsriFeatureSet>
}

const point = (x: number, y: number, wkid = 4326): EsriGeometry.EsriFeatureSet => ({
  geometryType: "esriGeometryPoint",
  spatialReference: { wkid },
  fields: [{ name: "OID", type: "esriFieldTypeOID" }],
  features: [{ geometry: { x, y }, attributes: { OID: 1 } }]
})
const square = (x0: number, y0: number, size: number, attributes: Record<string, unknown> = {}) => ({
  geometry: {
    rings: [
      [
        [x0, y0],
        [x0, y0 + size],
        [x0 + size, y0 + size],
        [x0 + size, y0],
        [x0, y0]
      ]
    ]
  },
  attributes
})
const polygons = (...features: Array<ReturnType<typeof square>>): EsriGeometry.EsriFeatureSet => ({
  geometryType: "esriGeometryPolygon",
  spatialReference: { wkid: 4326 },
  fields: [{ name: "zone", type: "esriFieldTypeString" }],
  features
})
const areaKm2 = (fs: EsriGeometry.EsriFeatureSet) =>
  EsriGeometry.toGeoJSON(fs).collection.features.reduce((sum, f) => sum + area(f) / 1e6, 0)

describe("geometry tools", () => {
  it("Buffer: a geodesic 1 km buffer of a point has an area within 0.5% of π km²", async () => {
    const out = await run("Buffer", {
      Input_Features: JSON.stringify(point(13.405, 52.52)),
      Distance: '{"distance":1,"units":"esriKilometers"}'
    })
    const buffered = out.Output_Features as EsriGeometry.EsriFeatureSet
    assert.strictEqual(buffered.geometryType, "esriGeometryPolygon")
    assert.lengthOf(buffered.features, 1)
    assert.closeTo(areaKm2(buffered), Math.PI, Math.PI * 0.005)
  })

  it("Buffer in Web Mercator gives the same polygon as in WGS84, back in Web Mercator; Dissolve merges", async () => {
    const wgs = (
      await run("Buffer", {
        Input_Features: Fixtures.esriFeatureSet("points", 4326),
        Distance: '{"distance":500,"units":"esriMeters"}'
      })
    ).Output_Features as EsriGeometry.EsriFeatureSet
    const merc = (
      await run("Buffer", {
        Input_Features: Fixtures.esriFeatureSet("points", 3857),
        Distance: '{"distance":500,"units":"esriMeters"}'
      })
    ).Output_Features as EsriGeometry.EsriFeatureSet
    assert.deepStrictEqual(merc.spatialReference, { wkid: 102100, latestWkid: 3857 })
    assert.closeTo(areaKm2(merc), areaKm2(wgs), areaKm2(wgs) * 1e-6)
    const overlapping = {
      ...point(0, 0),
      features: [
        { geometry: { x: 0, y: 0 }, attributes: {} },
        { geometry: { x: 0.005, y: 0 }, attributes: {} }
      ]
    }
    const dissolved = (
      await run("Buffer", {
        Input_Features: overlapping,
        Distance: '{"distance":1,"units":"esriKilometers"}',
        Dissolve: "true"
      })
    ).Output_Features as EsriGeometry.EsriFeatureSet
    assert.lengthOf(dissolved.features, 1)
    assert.isBelow(areaKm2(dissolved), 2 * Math.PI)
  })

  it("Clip keeps exactly the points inside the clip polygon, and intersects polygons", async () => {
    const pts: EsriGeometry.EsriFeatureSet = {
      geometryType: "esriGeometryPoint",
      spatialReference: { wkid: 4326 },
      features: [
        { geometry: { x: 0.5, y: 0.5 }, attributes: { id: 1 } },
        { geometry: { x: 2, y: 2 }, attributes: { id: 2 } },
        { geometry: { x: 0.1, y: 0.9 }, attributes: { id: 3 } }
      ]
    }
    const clipped = (await run("Clip", { Input_Features: pts, Clip_Features: polygons(square(0, 0, 1)) }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    assert.deepStrictEqual(
      clipped.features.map((f) => f.attributes?.id),
      [1, 3]
    )
    const cut = (
      await run("Clip", { Input_Features: polygons(square(0, 0, 1)), Clip_Features: polygons(square(0.5, 0, 1)) })
    ).Output_Features as EsriGeometry.EsriFeatureSet
    assert.closeTo(areaKm2(cut), areaKm2(polygons(square(0, 0, 1))) / 2, 1)
  })

  it("Dissolve merges two overlapping squares into one polygon; by field, one per value", async () => {
    const input = polygons(
      square(0, 0, 1, { zone: "a" }),
      square(0.5, 0, 1, { zone: "a" }),
      square(5, 5, 1, { zone: "b" })
    )
    const all = (await run("Dissolve", { Input_Features: input })).Output_Features as EsriGeometry.EsriFeatureSet
    assert.lengthOf(all.features, 1)
    const byZone = (await run("Dissolve", { Input_Features: input, Dissolve_Field: "zone" }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    assert.deepStrictEqual(byZone.features.map((f) => f.attributes?.zone).sort(), ["a", "b"])
    const a = byZone.features.find((f) => f.attributes?.zone === "a")
    const rectangle = polygons({
      geometry: {
        rings: [
          [
            [0, 0],
            [0, 1],
            [1.5, 1],
            [1.5, 0],
            [0, 0]
          ]
        ]
      },
      attributes: {}
    })
    assert.closeTo(areaKm2({ ...byZone, features: a ? [a] : [] }), areaKm2(rectangle), 5)
  })

  it("ConvexHull contains every input point; Centroids of a square is its centre", async () => {
    const hull = (await run("ConvexHull", { Input_Features: Fixtures.esriFeatureSet("points", 4326) }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    assert.lengthOf(hull.features, 1)
    const centre = (await run("Centroids", { Input_Features: polygons(square(10, 20, 2, { zone: "c" })) }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    const geometry = centre.features[0]?.geometry as { x: number; y: number }
    assert.closeTo(geometry.x, 11, 1e-9)
    assert.closeTo(geometry.y, 21, 1e-9)
    assert.strictEqual(centre.features[0]?.attributes?.zone, "c")
  })

  it("CalculateGeometry: a 1°×1° cell at the equator is about 12,308 km²; a polyline's geodesic length", async () => {
    const out = (await run("CalculateGeometry", { Input_Features: polygons(square(0, 0, 1)) }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    assert.closeTo(out.features[0]?.attributes?.area_km2 as number, 12_308, 12_308 * 0.005)
    assert.isTrue(out.fields?.some((f) => f.name === "area_km2"))
    const line: EsriGeometry.EsriFeatureSet = {
      geometryType: "esriGeometryPolyline",
      spatialReference: { wkid: 4326 },
      features: [
        {
          geometry: {
            paths: [
              [
                [0, 0],
                [1, 0]
              ]
            ]
          },
          attributes: {}
        }
      ]
    }
    const measured = (await run("CalculateGeometry", { Input_Features: line }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    // One degree of longitude on Turf's sphere (R = 6371.0088 km).
    assert.closeTo(measured.features[0]?.attributes?.length_km as number, (Math.PI * 6371.0088) / 180, 1e-6)
  })

  it("Project: known 4326 → 3857 coordinates, a UTM zone, and a round trip", async () => {
    const R = 6378137
    const [lon, lat] = [13.405, 52.52]
    const merc = (await run("Project", { Input_Features: point(lon, lat), Output_Coordinate_System: "3857" }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    const g = merc.features[0]?.geometry as { x: number; y: number }
    assert.closeTo(g.x, (R * lon * Math.PI) / 180, 0.01)
    assert.closeTo(g.y, R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)), 0.01)
    const back = (await run("Project", { Input_Features: merc, Output_Coordinate_System: "EPSG:4326" }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    const b = back.features[0]?.geometry as { x: number; y: number }
    assert.closeTo(b.x, lon, 1e-9)
    assert.closeTo(b.y, lat, 1e-9)
    // 15°E on the equator is the central meridian of UTM 33N: easting 500 km, northing 0.
    const utm = (await run("Project", { Input_Features: point(15, 0), Output_Coordinate_System: "32633" }))
      .Output_Features as EsriGeometry.EsriFeatureSet
    const u = utm.features[0]?.geometry as { x: number; y: number }
    assert.closeTo(u.x, 500_000, 0.001)
    assert.closeTo(u.y, 0, 0.001)
    await run("Project", { Input_Features: point(1, 1), Output_Coordinate_System: "EPSG:99999" }).then(
      () => assert.fail("an unknown coordinate system must be refused"),
      (e: Error) => assert.include(e.message, "99999")
    )
  })

  it("the GeoJSON twin of the fixtures' polygons in 4326 matches what the conversion produces", () => {
    const converted = EsriGeometry.toGeoJSON(
      Fixtures.esriFeatureSet("polygons", 4326) as EsriGeometry.EsriFeatureSet
    ).collection
    const twin = Fixtures.geojson("polygons") as { features: Array<{ geometry: unknown }> }
    assert.strictEqual(converted.features.length, twin.features.length)
    assert.closeTo(
      converted.features.reduce((s, f) => s + area(f), 0),
      twin.features.reduce((s, f) => s + area(f as never), 0),
      1
    )
  })

  it("a cancelled job's geometry tool stops", async () => {
    const t = await tool("Buffer")
    const controller = new AbortController()
    controller.abort(new Error("cancelled"))
    assert.throws(
      () =>
        t.execute(
          { Input_Features: point(0, 0), Distance: { distance: 1, units: "esriMeters" }, Dissolve: false },
          context(controller.signal)
        ),
      "cancelled"
    )
  })
})
