import { tmpdir } from "node:os"
import { assert, describe, it } from "@effect/vitest"
import * as Fixtures from "@geojobs/fixtures"
import { area } from "@turf/area"
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon"
import type { Feature, Polygon, Position } from "geojson"
import Buffer from "../src/builtin/Buffer.ts"
import CalculateGeometry from "../src/builtin/CalculateGeometry.ts"
import Centroids from "../src/builtin/Centroids.ts"
import Clip from "../src/builtin/Clip.ts"
import ConvexHull from "../src/builtin/ConvexHull.ts"
import Dissolve from "../src/builtin/Dissolve.ts"
import Project from "../src/builtin/Project.ts"
import Simplify from "../src/builtin/Simplify.ts"
import * as EsriGeometry from "../src/EsriGeometry.ts"
import type { Tool, ToolInputs } from "../src/Tool.ts"

type Reports = Array<[number | undefined, string | undefined]>

const context = (signal = new AbortController().signal, reports: Reports = []) => ({
  jobId: "j0",
  signal,
  progress: (percent: number | undefined, message?: string) => reports.push([percent, message]),
  message: () => {},
  outputDir: tmpdir()
})

/** Runs a tool's `execute` with decoded inputs and answers its Output_Features. */
const run = async (tool: Tool, inputs: ToolInputs, reports?: Reports): Promise<EsriGeometry.EsriFeatureSet> => {
  const outputs = await tool.execute(inputs, context(undefined, reports))
  return outputs.Output_Features as EsriGeometry.EsriFeatureSet
}

const failure = async (tool: Tool, inputs: ToolInputs, signal?: AbortSignal): Promise<unknown> =>
  Promise.resolve()
    .then(() => tool.execute(inputs, context(signal)))
    .then(
      () => assert.fail(`${tool.name} should have failed`),
      (error: unknown) => error
    )

const km = (distance: number) => ({ distance, units: "esriKilometers" })

const points = (...xys: Array<[number, number]>): EsriGeometry.EsriFeatureSet => ({
  geometryType: "esriGeometryPoint",
  spatialReference: { wkid: 4326 },
  fields: [{ name: "id", type: "esriFieldTypeInteger" }],
  features: xys.map(([x, y], i) => ({ geometry: { x, y }, attributes: { id: i + 1 } }))
})

const rectangle = (x0: number, y0: number, x1: number, y1: number, attributes: Record<string, unknown> = {}) => ({
  geometry: {
    rings: [
      [
        [x0, y0],
        [x0, y1],
        [x1, y1],
        [x1, y0],
        [x0, y0]
      ]
    ]
  },
  attributes
})

const polygons = (...features: Array<ReturnType<typeof rectangle>>): EsriGeometry.EsriFeatureSet => ({
  geometryType: "esriGeometryPolygon",
  spatialReference: { wkid: 4326 },
  fields: [{ name: "zone", type: "esriFieldTypeString", alias: "Zone", length: 8 }],
  features
})

const polyline = (...paths: Array<Array<[number, number]>>): EsriGeometry.EsriFeatureSet => ({
  geometryType: "esriGeometryPolyline",
  spatialReference: { wkid: 4326 },
  features: [{ geometry: { paths }, attributes: { name: "line" } }]
})

/** The geometry of a feature that must have one, as the shape the test expects. */
const geometryOf = <G>(feature: { readonly geometry?: unknown } | undefined): G => {
  assert.isOk(feature?.geometry, "a geometry")
  return feature?.geometry as G
}

/** The output's features in WGS84, for measuring with Turf. */
const read = (fs: EsriGeometry.EsriFeatureSet) => EsriGeometry.toGeoJSON(fs).features.features
const areaKm2 = (fs: EsriGeometry.EsriFeatureSet) => read(fs).reduce((sum, f) => sum + area(f) / 1e6, 0)
const xy = (fs: EsriGeometry.EsriFeatureSet, i = 0) => {
  const g = fs.features[i]?.geometry as { x: number; y: number }
  return [g.x, g.y] as const
}

// Turf's sphere: area of a lon/lat cell is R²·Δλ·(sin φ1 − sin φ0), a great-circle degree is R·π/180.
const R = 6371.0088
const rad = Math.PI / 180
const cellKm2 = (dLon: number, lat0: number, lat1: number) =>
  R * R * dLon * rad * (Math.sin(lat1 * rad) - Math.sin(lat0 * rad))
const haversineKm = ([lon0, lat0]: Position, [lon1, lat1]: Position) => {
  const h =
    Math.sin((((lat1 ?? 0) - (lat0 ?? 0)) * rad) / 2) ** 2 +
    Math.cos((lat0 ?? 0) * rad) * Math.cos((lat1 ?? 0) * rad) * Math.sin((((lon1 ?? 0) - (lon0 ?? 0)) * rad) / 2) ** 2
  return 2 * R * Math.asin(Math.sqrt(h))
}

describe("the geometry tool modules", () => {
  it("each default-exports a tool named after its file, with Input_Features and an Output_Features output", async () => {
    const names = ["Buffer", "Clip", "Dissolve", "Simplify", "ConvexHull", "Centroids", "CalculateGeometry", "Project"]
    for (const name of names) {
      const tool = ((await import(`../src/builtin/${name}.ts`)) as { default: Tool }).default
      assert.strictEqual(tool._tag, "GeoJobsTool")
      assert.strictEqual(tool.name, name)
      assert.isString(tool.description)
      const byName = new Map(tool.parameters.map((p) => [p.name, p]))
      assert.strictEqual(byName.get("Input_Features")?.dataType, "GPFeatureRecordSetLayer", name)
      assert.strictEqual(byName.get("Output_Features")?.direction, "output", name)
    }
  })
})

describe("Buffer", () => {
  it("buffers a point by 1 km into a polygon of geodesic area π km² (±0.5%), reporting progress", async () => {
    const reports: Reports = []
    const out = await run(
      Buffer,
      { Input_Features: points([13.405, 52.52], [0, 0], [-117.2, 34.05]), Distance: km(1), Dissolve: false },
      reports
    )
    assert.strictEqual(out.geometryType, "esriGeometryPolygon")
    assert.deepStrictEqual(out.spatialReference, { wkid: 4326, latestWkid: 4326 })
    assert.deepStrictEqual(
      out.features.map((f) => f.attributes),
      [{ id: 1 }, { id: 2 }, { id: 3 }]
    )
    for (const f of read(out)) assert.closeTo(area(f) / 1e6, Math.PI, Math.PI * 0.005)
    assert.deepStrictEqual(
      reports.map(([p]) => p),
      [0, 33, 66]
    )
  })

  it("converts the distance's units: 1 mile around a point is π·1.609344² km²", async () => {
    const out = await run(Buffer, {
      Input_Features: points([13.405, 52.52]),
      Distance: { distance: 1, units: "esriMiles" },
      Dissolve: false
    })
    assert.closeTo(areaKm2(out), Math.PI * 1.609344 ** 2, Math.PI * 1.609344 ** 2 * 0.005)
  })

  it("buffers the Web Mercator points like their WGS84 twins, and answers in Web Mercator", async () => {
    const wgs84 = await run(Buffer, {
      Input_Features: Fixtures.esriFeatureSet("points", 4326),
      Distance: { distance: 500, units: "esriMeters" },
      Dissolve: false
    })
    const mercator = await run(Buffer, {
      Input_Features: Fixtures.esriFeatureSet("points", 3857),
      Distance: { distance: 500, units: "esriMeters" },
      Dissolve: false
    })
    assert.deepStrictEqual(mercator.spatialReference, { wkid: 102100, latestWkid: 3857 })
    const ring = geometryOf<{ rings: Array<Array<[number, number]>> }>(mercator.features[0]).rings[0]
    assert.isAbove(Math.abs(ring?.[0]?.[0] ?? 0), 1e7, "coordinates are metres, not degrees")
    const [a, b] = [read(wgs84), read(mercator)]
    assert.strictEqual(b.length, 6)
    a.forEach((f, i) => {
      const [pa, pb] = [f.geometry as Polygon, b[i]?.geometry as Polygon]
      assert.closeTo(area(pb), area(pa), area(pa) * 1e-9)
      pa.coordinates[0]?.forEach(([lon, lat], k) => {
        assert.closeTo(pb.coordinates[0]?.[k]?.[0] ?? 0, lon ?? 0, 1e-9)
        assert.closeTo(pb.coordinates[0]?.[k]?.[1] ?? 0, lat ?? 0, 1e-9)
      })
    })
  })

  it("dissolves two overlapping 1 km circles into one polygon with the area of their union", async () => {
    // Two points 1 km apart on the equator: the union of two unit circles at distance 1 is 2π − (2π/3 − √3/2).
    const out = await run(Buffer, {
      Input_Features: points([0, 0], [1 / (R * rad), 0]),
      Distance: km(1),
      Dissolve: true
    })
    assert.lengthOf(out.features, 1)
    assert.deepStrictEqual(out.features[0]?.attributes, {})
    assert.deepStrictEqual(out.fields, [])
    const expected = 2 * Math.PI - ((2 * Math.PI) / 3 - Math.sqrt(3) / 2)
    assert.closeTo(areaKm2(out), expected, expected * 0.005)
  })
})

describe("Clip", () => {
  const unitSquare = polygons(rectangle(0, 0, 1, 1))

  it("keeps exactly the points inside the square", async () => {
    const out = await run(Clip, {
      Input_Features: points([0.5, 0.5], [2, 2], [0.1, 0.9], [-0.1, 0.5], [0.5, 1.0001], [0.999, 0.001]),
      Clip_Features: unitSquare
    })
    assert.deepStrictEqual(
      out.features.map((f) => f.attributes?.id),
      [1, 3, 6]
    )
    assert.deepStrictEqual(out.fields, [{ name: "id", type: "esriFieldTypeInteger" }])
  })

  it("cuts lines where they cross the boundary, a line that leaves and comes back in two parts", async () => {
    const out = await run(Clip, {
      Input_Features: polyline(
        [
          [-1, 0.5],
          [0.5, 0.5],
          [0.5, 2],
          [0.7, 2],
          [0.7, 0.2],
          [2, 0.2]
        ],
        [
          [3, 3],
          [4, 4]
        ]
      ),
      Clip_Features: unitSquare
    })
    assert.strictEqual(out.geometryType, "esriGeometryPolyline")
    assertPaths(out.features[0]?.geometry?.paths, [
      [
        [0, 0.5],
        [0.5, 0.5],
        [0.5, 1]
      ],
      [
        [0.7, 1],
        [0.7, 0.2],
        [1, 0.2]
      ]
    ])
    assert.deepStrictEqual(out.features[0]?.attributes, { name: "line" })
    const outside = await run(Clip, {
      Input_Features: polyline([
        [3, 3],
        [4, 4]
      ]),
      Clip_Features: unitSquare
    })
    assert.lengthOf(outside.features, 0, "a line wholly outside is dropped")
  })

  it("intersects polygons with the union of the clip polygons", async () => {
    const out = await run(Clip, {
      Input_Features: polygons(rectangle(0, 0, 2, 1, { zone: "a" })),
      Clip_Features: polygons(rectangle(0.5, 0, 1, 1), rectangle(0.9, 0, 1.5, 1))
    })
    assert.lengthOf(out.features, 1)
    assert.deepStrictEqual(out.features[0]?.attributes, { zone: "a" })
    assert.closeTo(areaKm2(out), cellKm2(1, 0, 1), cellKm2(1, 0, 1) * 1e-9)
  })

  it("refuses a clip layer that is not polygons", async () => {
    const error = await failure(Clip, { Input_Features: points([0, 0]), Clip_Features: points([0, 0], [1, 1]) })
    assert.instanceOf(error, Error)
    assert.include((error as Error).message, "Clip_Features must be polygons")
  })
})

/** Asserts Esri paths equal the expected within 1e-12. */
function assertPaths(actual: unknown, expected: Array<Array<[number, number]>>) {
  const paths = actual as Array<Array<[number, number]>>
  assert.lengthOf(paths, expected.length)
  expected.forEach((path, i) => {
    assert.lengthOf(paths[i] ?? [], path.length)
    path.forEach(([x, y], k) => {
      assert.closeTo(paths[i]?.[k]?.[0] ?? Number.NaN, x, 1e-12)
      assert.closeTo(paths[i]?.[k]?.[1] ?? Number.NaN, y, 1e-12)
    })
  })
}

describe("Dissolve", () => {
  const input = polygons(
    rectangle(0, 0, 1, 1, { zone: "a" }),
    rectangle(0.5, 0, 1.5, 1, { zone: "a" }),
    rectangle(5, 5, 6, 6, { zone: "b" })
  )

  it("merges two overlapping squares into one polygon with the area of the 1.5°×1° rectangle", async () => {
    const out = await run(Dissolve, { Input_Features: polygons(rectangle(0, 0, 1, 1), rectangle(0.5, 0, 1.5, 1)) })
    assert.lengthOf(out.features, 1)
    assert.strictEqual(read(out)[0]?.geometry.type, "Polygon")
    assert.closeTo(areaKm2(out), cellKm2(1.5, 0, 1), cellKm2(1.5, 0, 1) * 1e-9)
    assert.deepStrictEqual(out.fields, [])
  })

  it("merges per value of Dissolve_Field, carrying the value and the field's definition", async () => {
    const out = await run(Dissolve, { Input_Features: input, Dissolve_Field: "zone" })
    assert.deepStrictEqual(
      out.features.map((f) => f.attributes),
      [{ zone: "a" }, { zone: "b" }]
    )
    assert.deepStrictEqual(out.fields, [{ name: "zone", type: "esriFieldTypeString", alias: "Zone", length: 8 }])
    const [a, b] = read(out)
    assert.closeTo(area(a as Feature) / 1e6, cellKm2(1.5, 0, 1), 1e-3)
    assert.closeTo(area(b as Feature) / 1e6, cellKm2(1, 5, 6), 1e-3)
  })

  it("refuses an unknown field and geometry that is not polygons", async () => {
    assert.include(
      ((await failure(Dissolve, { Input_Features: input, Dissolve_Field: "colour" })) as Error).message,
      "colour"
    )
    assert.include(((await failure(Dissolve, { Input_Features: points([0, 0]) })) as Error).message, "polygons")
  })
})

describe("Simplify", () => {
  // A 10 km line along the equator with a 1 m zigzag every 100 m.
  const zigzag = Array.from({ length: 101 }, (_, i): [number, number] => [
    (i * 0.1) / (R * rad),
    i % 2 === 0 ? 0 : 0.001 / (R * rad)
  ])

  it("drops vertices within the tolerance and keeps those beyond it", async () => {
    const coarse = await run(Simplify, {
      Input_Features: polyline(zigzag),
      Tolerance: { distance: 10, units: "esriMeters" }
    })
    assert.lengthOf(coarse.features[0]?.geometry?.paths as Array<unknown>, 1)
    assert.lengthOf(geometryOf<{ paths: Array<Array<unknown>> }>(coarse.features[0]).paths[0] ?? [], 2)
    const fine = await run(Simplify, {
      Input_Features: polyline(zigzag),
      Tolerance: { distance: 0.5, units: "esriMeters" }
    })
    assert.lengthOf(geometryOf<{ paths: Array<Array<unknown>> }>(fine.features[0]).paths[0] ?? [], 101)
  })

  it("keeps Web Mercator polygons valid and in Web Mercator", async () => {
    const out = await run(Simplify, {
      Input_Features: Fixtures.esriFeatureSet("polygons", 3857),
      Tolerance: { distance: 1, units: "esriKilometers" }
    })
    assert.deepStrictEqual(out.spatialReference, { wkid: 102100, latestWkid: 3857 })
    assert.lengthOf(out.features, 3)
    for (const f of out.features) {
      for (const ring of (f.geometry as { rings: Array<Array<unknown>> }).rings) assert.isAtLeast(ring.length, 4)
    }
  })
})

describe("ConvexHull", () => {
  for (const wkid of Fixtures.wkids) {
    it(`encloses every fixture point (${wkid}) in one polygon whose vertices are fixture points`, async () => {
      const input = Fixtures.esriFeatureSet("points", wkid) as EsriGeometry.EsriFeatureSet
      const out = await run(ConvexHull, { Input_Features: input })
      assert.lengthOf(out.features, 1)
      assert.strictEqual(out.geometryType, "esriGeometryPolygon")
      assert.deepStrictEqual(out.spatialReference, input.spatialReference)
      // Checked in the input's own coordinates (point-in-polygon is planar), so no reprojection blurs the boundary.
      const ring = geometryOf<{ rings: Array<Array<Position>> }>(out.features[0]).rings[0] ?? []
      const hull: Polygon = { type: "Polygon", coordinates: [ring] }
      const tolerance = wkid === 4326 ? 1e-9 : 1e-6
      const near = ([ax, ay]: Position, [bx, by]: Position) =>
        Math.abs((ax ?? 0) - (bx ?? 0)) < tolerance && Math.abs((ay ?? 0) - (by ?? 0)) < tolerance
      const isVertex = (p: Position) => ring.some((v) => near(v, p))
      const inputPoints = input.features.map((f) => [f.geometry?.x as number, f.geometry?.y as number])
      assert.isAtLeast(ring.length, 4)
      for (const vertex of ring) {
        assert.isTrue(
          inputPoints.some((p) => near(p, vertex)),
          `hull vertex ${vertex} is an input point`
        )
      }
      for (const p of inputPoints) {
        assert.isTrue(isVertex(p) || booleanPointInPolygon(p, hull, { ignoreBoundary: true }), `${p} is enclosed`)
      }
    })
  }

  it("refuses points on one line", async () => {
    const error = await failure(ConvexHull, { Input_Features: points([0, 0], [1, 1], [2, 2]) })
    assert.include((error as Error).message, "three vertices")
  })
})

describe("Centroids", () => {
  it("puts a square's centroid at its centre and keeps its attributes", async () => {
    const out = await run(Centroids, { Input_Features: polygons(rectangle(10, 20, 12, 22, { zone: "c" })) })
    assert.strictEqual(out.geometryType, "esriGeometryPoint")
    const [x, y] = xy(out)
    assert.closeTo(x, 11, 1e-12)
    assert.closeTo(y, 21, 1e-12)
    assert.deepStrictEqual(out.features[0]?.attributes, { zone: "c" })
    assert.deepStrictEqual(out.fields, polygons().fields)
  })

  it("answers in the input's spatial reference", async () => {
    const out = await run(Centroids, { Input_Features: Fixtures.esriFeatureSet("polylines", 3857) })
    assert.deepStrictEqual(out.spatialReference, { wkid: 102100, latestWkid: 3857 })
    assert.lengthOf(out.features, 3)
    assert.strictEqual(out.features[1]?.attributes?.name, "Unter den Linden")
    // The mean of Unter den Linden's four vertices, in Web Mercator.
    const vertices = [13.377704, 13.383402, 13.390113, 13.396618]
    const meanLon = vertices.reduce((s, v) => s + v, 0) / 4
    assert.closeTo(xy(out, 1)[0], 6378137 * meanLon * rad, 0.001)
  })
})

describe("CalculateGeometry", () => {
  it("gives a 1°×1° cell at the equator ≈ 12,308 km² (Turf's sphere: within 0.5% of the ellipsoid)", async () => {
    const out = await run(CalculateGeometry, { Input_Features: polygons(rectangle(0, 0, 1, 1, { zone: "q" })) })
    const attributes = out.features[0]?.attributes ?? {}
    const areaKm = attributes.area_km2 as number
    // The WGS84 ellipsoid's figure for the cell (authalic formula) is 12,308.46 km².
    assert.closeTo(areaKm, 12_308.46, 12_308.46 * 0.005)
    assert.closeTo(areaKm, cellKm2(1, 0, 1), 1e-6)
    assert.strictEqual(attributes.zone, "q")
    const edges: Array<[Position, Position]> = [
      [
        [0, 0],
        [0, 1]
      ],
      [
        [0, 1],
        [1, 1]
      ],
      [
        [1, 1],
        [1, 0]
      ],
      [
        [1, 0],
        [0, 0]
      ]
    ]
    const perimeter = edges.reduce((s, [a, b]) => s + haversineKm(a, b), 0)
    assert.closeTo(attributes.length_km as number, perimeter, 1e-9)
    assert.deepStrictEqual(
      out.fields?.map((f) => [f.name, f.type]),
      [
        ["zone", "esriFieldTypeString"],
        ["area_km2", "esriFieldTypeDouble"],
        ["length_km", "esriFieldTypeDouble"]
      ]
    )
  })

  it("measures the polylines fixture (in Web Mercator) by great-circle length, and points as zero", async () => {
    const out = await run(CalculateGeometry, { Input_Features: Fixtures.esriFeatureSet("polylines", 3857) })
    const twins = (
      Fixtures.geojson("polylines") as { features: Array<{ geometry: { type: string; coordinates: Array<unknown> } }> }
    ).features
    out.features.forEach((f, i) => {
      const g = twins[i]?.geometry
      const lines = (g?.type === "LineString" ? [g.coordinates] : g?.coordinates) as Array<Array<Position>>
      const expected = lines.reduce(
        (s, line) => s + line.slice(1).reduce((t, p, k) => t + haversineKm(line[k] as Position, p), 0),
        0
      )
      assert.closeTo(f.attributes?.length_km as number, expected, 1e-6)
      assert.strictEqual(f.attributes?.area_km2, 0)
    })
    // Unter den Linden is about 1.3 km long.
    assert.closeTo(out.features[1]?.attributes?.length_km as number, 1.3, 0.1)
    const pts = await run(CalculateGeometry, { Input_Features: points([1, 2]) })
    assert.deepStrictEqual(pts.features[0]?.attributes, { id: 1, area_km2: 0, length_km: 0 })
  })
})

describe("Project", () => {
  const [lon, lat] = [13.405, 52.52]
  const mercatorX = 6378137 * lon * rad
  const mercatorY = 6378137 * Math.log(Math.tan(Math.PI / 4 + (lat * rad) / 2))

  it("projects Berlin to spherical Web Mercator: x = R·λ, y = R·ln tan(π/4 + φ/2)", async () => {
    for (const target of ["3857", "EPSG:3857", "102100"]) {
      const out = await run(Project, { Input_Features: points([lon, lat]), Output_Coordinate_System: target })
      assert.deepStrictEqual(out.spatialReference, { wkid: 102100, latestWkid: 3857 })
      const [x, y] = xy(out)
      assert.closeTo(x, mercatorX, 0.01)
      assert.closeTo(y, mercatorY, 0.01)
      assert.deepStrictEqual(out.features[0]?.attributes, { id: 1 })
    }
  })

  it("round-trips the fixture points 4326 → 3857 → 4326 within 1e-9°", async () => {
    const original = Fixtures.esriFeatureSet("points", 4326) as EsriGeometry.EsriFeatureSet
    const mercator = await run(Project, { Input_Features: original, Output_Coordinate_System: "3857" })
    const back = await run(Project, { Input_Features: mercator, Output_Coordinate_System: "4326" })
    assert.deepStrictEqual(back.spatialReference, { wkid: 4326, latestWkid: 4326 })
    original.features.forEach((f, i) => {
      const [x, y] = xy(back, i)
      assert.closeTo(x, f.geometry?.x as number, 1e-9)
      assert.closeTo(y, f.geometry?.y as number, 1e-9)
    })
  })

  it("projects to UTM 33N and 33S: on the central meridian easting is 500 km and northing k0 times the meridian arc", async () => {
    // WGS84 meridian arc from the equator to 10° (series expansion): 1,105,854.83 m.
    const northing = 0.9996 * 1_105_854.833
    const north = await run(Project, { Input_Features: points([15, 10]), Output_Coordinate_System: "EPSG:32633" })
    assert.deepStrictEqual(north.spatialReference, { wkid: 32633, latestWkid: 32633 })
    assert.closeTo(xy(north)[0], 500_000, 0.001)
    assert.closeTo(xy(north)[1], northing, 0.01)
    const south = await run(Project, { Input_Features: points([15, -10]), Output_Coordinate_System: "32733" })
    assert.closeTo(xy(south)[0], 500_000, 0.001)
    assert.closeTo(xy(south)[1], 10_000_000 - northing, 0.01)
  })

  it("takes a proj4 definition, written back as `wkt`, and refuses an unknown code by name", async () => {
    const definition = "+proj=utm +zone=33 +ellps=WGS84 +units=m"
    const out = await run(Project, { Input_Features: points([15, 10]), Output_Coordinate_System: definition })
    assert.deepStrictEqual(out.spatialReference, { wkt: definition })
    assert.closeTo(xy(out)[1], 0.9996 * 1_105_854.833, 0.01)
    const error = await failure(Project, { Input_Features: points([1, 1]), Output_Coordinate_System: "EPSG:99999" })
    assert.include((error as Error).message, "99999")
  })
})

describe("cancellation", () => {
  const tools: Array<[Tool, ToolInputs]> = [
    [Buffer, { Input_Features: points([0, 0]), Distance: km(1), Dissolve: false }],
    [Clip, { Input_Features: points([0.5, 0.5]), Clip_Features: polygons(rectangle(0, 0, 1, 1)) }],
    [Dissolve, { Input_Features: polygons(rectangle(0, 0, 1, 1)) }],
    [
      Simplify,
      {
        Input_Features: polyline([
          [0, 0],
          [1, 1],
          [2, 0]
        ]),
        Tolerance: km(1)
      }
    ],
    [ConvexHull, { Input_Features: points([0, 0], [1, 0], [0, 1]) }],
    [Centroids, { Input_Features: points([0, 0]) }],
    [CalculateGeometry, { Input_Features: points([0, 0]) }],
    [Project, { Input_Features: points([0, 0]), Output_Coordinate_System: "3857" }]
  ]

  for (const [tool, inputs] of tools) {
    it(`${tool.name} given an already-aborted signal throws the cancel reason`, async () => {
      const controller = new AbortController()
      const reason = new Error("job cancelled")
      controller.abort(reason)
      assert.strictEqual(await failure(tool, inputs, controller.signal), reason)
      // The same inputs succeed when not cancelled, so the throw above is the cancellation's.
      await tool.execute(inputs, context())
    })
  }
})
