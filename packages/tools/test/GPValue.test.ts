import { assert, describe, it } from "@effect/vitest"
import { EncodedValue, type Job } from "@geojobs/core"
import * as Fixtures from "@geojobs/fixtures"
import { Effect } from "effect"
import { decodeInputs, decodeParameter } from "../src/GPValue.ts"
import { defineTool, type Parameter } from "../src/Tool.ts"

const ok = (p: Parameter, raw: unknown) => Effect.runSync(decodeParameter(p, raw))
const refused = (p: Parameter, raw: unknown) => Effect.runSync(Effect.flip(decodeParameter(p, raw)))

describe("GPValue", () => {
  it("decodes literals as clients send them", () => {
    assert.strictEqual(ok({ name: "s", dataType: "GPString" }, "MyString"), "MyString")
    assert.strictEqual(ok({ name: "n", dataType: "GPLong" }, "345"), 345)
    assert.strictEqual(ok({ name: "n", dataType: "GPLong" }, 4503599627370495), 4503599627370495)
    assert.strictEqual(ok({ name: "d", dataType: "GPDouble" }, "345.678"), 345.678)
    assert.strictEqual(ok({ name: "b", dataType: "GPBoolean" }, "true"), true)
    assert.strictEqual(ok({ name: "b", dataType: "GPBoolean" }, "FALSE"), false)
    assert.strictEqual(ok({ name: "t", dataType: "GPDate" }, "1199145600000"), 1199145600000)
    assert.strictEqual(ok({ name: "t", dataType: "GPDate" }, "2008-01-01T00:00:00Z"), 1199145600000)
    assert.strictEqual(
      ok({ name: "t", dataType: "GPDate" }, "2025-01-01T14:00:00:000Z".replace("Z", "")),
      Date.parse("2025-01-01T14:00:00.000")
    )
    assert.deepStrictEqual(ok({ name: "u", dataType: "GPLinearUnit" }, '{"distance":345.678,"units":"esriMiles"}'), {
      distance: 345.678,
      units: "esriMiles"
    })
    assert.deepStrictEqual(ok({ name: "u", dataType: "GPLinearUnit" }, '{"distance":5}'), {
      distance: 5,
      units: "esriMeters"
    })
  })

  it("decodes multi-values from JSON arrays and comma lists", () => {
    const p: Parameter = { name: "m", dataType: "GPMultiValue:GPString" }
    assert.deepStrictEqual(ok(p, '["Parcels","Street Lights"]'), ["Parcels", "Street Lights"])
    assert.deepStrictEqual(ok(p, "Parcels, Street Lights"), ["Parcels", "Street Lights"])
    assert.deepStrictEqual(ok({ name: "m", dataType: "GPMultiValue:GPLong" }, "1,2,3"), [1, 2, 3])
    const e = refused({ name: "m", dataType: "GPMultiValue:GPLong" }, "1,x,3")
    assert.include(e.message, "item 2")
  })

  it("decodes feature sets and record sets from JSON text", () => {
    const fs = Fixtures.esriFeatureSet("polygons", 4326)
    const decoded = ok({ name: "f", dataType: "GPFeatureRecordSetLayer" }, JSON.stringify(fs)) as {
      features: Array<unknown>
    }
    assert.deepStrictEqual(decoded, fs)
    assert.deepStrictEqual(ok({ name: "r", dataType: "GPRecordSet" }, '{"features":[{"attributes":{"a":1}}]}'), {
      features: [{ attributes: { a: 1 } }]
    })
  })

  it("takes an uploaded item for feature sets, record sets and data files (the engine checks and reads it)", () => {
    const item = '{"itemID":"i912f0648-a455-4d08-ae95-44eb5b82de2e"}'
    for (const dataType of ["GPFeatureRecordSetLayer", "GPRecordSet", "GPDataFile"] as const) {
      assert.deepStrictEqual(ok({ name: "f", dataType }, item), { itemID: "i912f0648-a455-4d08-ae95-44eb5b82de2e" })
    }
    // Only the id is kept: a path comes from the engine's staging, never from the client.
    assert.deepStrictEqual(ok({ name: "f", dataType: "GPFeatureRecordSetLayer" }, '{"itemID":"i1","path":"../x"}'), {
      itemID: "i1"
    })
    assert.include(refused({ name: "f", dataType: "GPFeatureRecordSetLayer" }, '{"itemID":""}').message, "feature set")
  })

  it("takes a file of features by URL for feature sets and record sets (only the URL is kept; the engine fetches it)", () => {
    for (const dataType of ["GPFeatureRecordSetLayer", "GPRecordSet"] as const) {
      assert.deepStrictEqual(ok({ name: "f", dataType }, '{"url":"https://example.com/q?f=geojson","path":"../x"}'), {
        url: "https://example.com/q?f=geojson"
      })
    }
  })

  it("reads GeoJSON (a FeatureCollection, a Feature or a geometry) into a feature set in EPSG 4326", () => {
    const p: Parameter = { name: "f", dataType: "GPFeatureRecordSetLayer" }
    const collection = {
      type: "FeatureCollection",
      features: [
        {
          type: "Feature",
          geometry: { type: "Point", coordinates: [10, 50] },
          properties: { id: 1, name: "a", w: 1.5 }
        },
        { type: "Feature", geometry: { type: "Point", coordinates: [11, 51] }, properties: { id: 2, name: "b", w: 2 } }
      ]
    }
    const fs = ok(p, JSON.stringify(collection)) as {
      geometryType: string
      spatialReference: { wkid: number }
      fields: Array<{ name: string; type: string }>
      features: Array<{ geometry: { x: number; y: number }; attributes: Record<string, unknown> }>
    }
    assert.strictEqual(fs.geometryType, "esriGeometryPoint")
    assert.strictEqual(fs.spatialReference.wkid, 4326)
    assert.deepStrictEqual(
      fs.fields.map((f) => [f.name, f.type]),
      [
        ["id", "esriFieldTypeInteger"],
        ["name", "esriFieldTypeString"],
        ["w", "esriFieldTypeDouble"]
      ]
    )
    assert.deepStrictEqual(fs.features[1]?.attributes, { id: 2, name: "b", w: 2 })
    assert.closeTo(fs.features[1]?.geometry.x ?? 0, 11, 1e-9)
    assert.closeTo(fs.features[1]?.geometry.y ?? 0, 51, 1e-9)
    const polygon = {
      type: "Polygon",
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 0]
        ]
      ]
    }
    const one = ok(p, { type: "Feature", geometry: polygon, properties: null }) as { features: Array<unknown> }
    assert.lengthOf(one.features, 1)
    assert.strictEqual((ok(p, polygon) as { geometryType: string }).geometryType, "esriGeometryPolygon")
    const mixed = refused(p, {
      type: "FeatureCollection",
      features: [collection.features[0], { type: "Feature", geometry: polygon, properties: {} }]
    })
    assert.include(mixed.message, "mixes geometry types")
    assert.include(refused(p, { type: "GeometryCollection", geometries: [] }).message, "parameter f")
    const filtered = refused({ ...p, geometryTypes: ["esriGeometryPolygon"] }, collection)
    assert.include(filtered.message, "esriGeometryPolygon")
  })

  it("empty means the default, nothing for optional parameters, and an error naming a required one", () => {
    assert.strictEqual(ok({ name: "s", dataType: "GPString", defaultValue: "x" }, ""), "x")
    assert.isNull(ok({ name: "s", dataType: "GPString", required: false }, ""))
    const e = refused({ name: "Distance", dataType: "GPLinearUnit" }, undefined)
    assert.strictEqual(e.parameter, "Distance")
    assert.include(e.message, "Distance is required")
  })

  const refusals: ReadonlyArray<readonly [Parameter, unknown, string]> = [
    [{ name: "n", dataType: "GPLong" }, "3.5", "an integer"],
    [{ name: "n", dataType: "GPLong" }, "9007199254740991", "an integer"],
    [{ name: "d", dataType: "GPDouble" }, "abc", "a number"],
    [{ name: "d", dataType: "GPDouble", range: { minimum: 0, maximum: 10 } }, "11", "from 0 to 10"],
    [{ name: "b", dataType: "GPBoolean" }, "yes", "true or false"],
    [{ name: "t", dataType: "GPDate" }, "tomorrow", "ISO date"],
    [{ name: "u", dataType: "GPLinearUnit" }, '{"distance":1,"units":"esriParsecs"}', "esriKilometers"],
    [{ name: "u", dataType: "GPLinearUnit" }, "{not json", "linear unit"],
    [{ name: "s", dataType: "GPString", choiceList: ["PLANAR", "GEODESIC"] }, "SPHERICAL", "one of PLANAR, GEODESIC"],
    [{ name: "f", dataType: "GPFeatureRecordSetLayer" }, '{"url":"ftp://x/FeatureServer/0"}', '{"url":"https://'],
    [{ name: "f", dataType: "GPFeatureRecordSetLayer" }, '{"features":"nope"}', "Esri JSON feature set"],
    [
      { name: "f", dataType: "GPFeatureRecordSetLayer", geometryTypes: ["esriGeometryPolygon"] },
      '{"geometryType":"esriGeometryPoint","features":[]}',
      "esriGeometryPolygon"
    ],
    [{ name: "file", dataType: "GPDataFile" }, '{"url":"ftp://x"}', "data file"]
  ]
  for (const [p, raw, expected] of refusals) {
    it(`refuses ${JSON.stringify(raw)} for ${p.dataType}${p.range || p.choiceList ? " with a filter" : ""}, naming ${p.name}`, () => {
      const e = refused(p, raw)
      assert.strictEqual(e._tag, "InvalidParameter")
      assert.strictEqual(e.parameter, p.name)
      assert.include(e.message, expected)
      assert.include(e.message, `parameter ${p.name}`)
    })
  }

  it.effect("decodeInputs takes a tool's inputs from the fields, ignores the rest, tags each with its type", () =>
    Effect.gen(function* () {
      const tool = defineTool({
        name: "T",
        parameters: [
          { name: "a", dataType: "GPLong" },
          { name: "b", dataType: "GPBoolean", defaultValue: false },
          { name: "out", dataType: "GPString", direction: "output" }
        ],
        execute: () => ({})
      })
      const inputs = yield* decodeInputs(tool, { a: "7", f: "json", token: "t", "env:outSR": "3857" })
      assert.deepStrictEqual(inputs, {
        a: { dataType: "GPLong", value: 7 },
        b: { dataType: "GPBoolean", value: false }
      })
      const e = yield* Effect.flip(decodeInputs(tool, { a: "x" }))
      assert.strictEqual(e.parameter, "a")
    })
  )

  it.effect("a feature set sent as Esri JSON text keeps that text; one converted from GeoJSON is encoded anew", () =>
    Effect.gen(function* () {
      const tool = defineTool({
        name: "T",
        parameters: [{ name: "fs", dataType: "GPFeatureRecordSetLayer" }],
        execute: () => ({})
      })
      const esri = ' {"geometryType":"esriGeometryPoint","features":[{"geometry":{"x":1,"y":2},"attributes":{"n":1}}]}'
      const kept = (yield* decodeInputs(tool, { fs: esri })).fs
      assert.strictEqual(kept?.dataType, "GPFeatureRecordSetLayer")
      assert.strictEqual(EncodedValue.textOf(kept as Job.JobValue), esri, "the client's text, not re-encoded")
      assert.deepStrictEqual(JSON.parse(EncodedValue.textOf(kept as Job.JobValue)), kept?.value)
      const geojson = JSON.stringify({
        type: "FeatureCollection",
        features: [{ type: "Feature", geometry: { type: "Point", coordinates: [1, 2] }, properties: { n: 1 } }]
      })
      const converted = (yield* decodeInputs(tool, { fs: geojson })).fs as Job.JobValue
      assert.notStrictEqual(EncodedValue.textOf(converted), geojson)
      assert.deepStrictEqual(JSON.parse(EncodedValue.textOf(converted)), converted.value, "the Esri JSON it became")
    })
  )
})
