// Results as files, on a real server on a port: a Buffer job's feature set fetched as every file format (and the
// format aliases), read back with the tools' readers — and, where GDAL is installed, with ogrinfo — with their
// Content-Type and Content-Disposition; a table as CSV; formats that do not apply answered 400 naming `f`; output
// files typed by their extension and served as downloads; big and reshaped JSON results made off the main thread.
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope, RestJob } from "@geojobs/core"
import * as Ogr from "@geojobs/fixtures/Ogr"
import { SqliteStorage } from "@geojobs/store-sqlite"
import * as DataFormat from "@geojobs/tools/DataFormat"
import { Effect } from "effect"
import Fastify from "fastify"
import * as ArcGISRequest from "../src/ArcGISRequest.ts"
import * as ResultFiles from "../src/ResultFiles.ts"
import { TestServer } from "../src/testing/index.ts"

let server: TestServer.TestServer
beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `services:
  - folder: Analysis
    name: Geometry
    tasks:
      - {tool: Buffer}
      - {tool: Echo}
      - {module: ${JSON.stringify(join(import.meta.dirname, "support", "FileTool.ts"))}}
      - {module: ${JSON.stringify(join(import.meta.dirname, "support", "TableTool.ts"))}}
`,
    password: "results as files"
  })
})
afterAll(async () => server.close())

const service = () => `${server.url}/rest/services/Analysis/Geometry/GPServer`

const run = async (task: string, fields: Record<string, string>): Promise<string> => {
  const submitted = await fetch(`${service()}/${task}/submitJob`, {
    method: "POST",
    body: new URLSearchParams({ ...fields, f: "json" })
  })
  const { jobId } = RestJob.schema.parse(await submitted.json())
  const url = `${service()}/${task}/jobs/${jobId}`
  for (let i = 0; i < 400; i++) {
    const doc = RestJob.schema.parse(await (await fetch(`${url}?f=json`)).json())
    if (doc.jobStatus === "esriJobSucceeded") return url
    if (doc.jobStatus === "esriJobFailed") throw new Error(`${task} failed: ${JSON.stringify(doc.messages)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${task} never finished`)
}

const get = async (url: string) => {
  const response = await fetch(url)
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    disposition: response.headers.get("content-disposition"),
    bytes: new Uint8Array(await response.arrayBuffer())
  }
}

const errorOf = (bytes: Uint8Array) => ErrorEnvelope.restSchema.parse(JSON.parse(new TextDecoder().decode(bytes))).error

const sites = {
  geometryType: "esriGeometryPoint",
  spatialReference: { wkid: 4326 },
  fields: [
    { name: "name", type: "esriFieldTypeString", alias: "name", length: 20 },
    { name: "visits", type: "esriFieldTypeInteger", alias: "visits" }
  ],
  features: [
    { geometry: { x: 8.54, y: 47.37 }, attributes: { name: "Zürich", visits: 3 } },
    { geometry: { x: 7.45, y: 46.95 }, attributes: { name: "Bern", visits: 7 } },
    { geometry: { x: 6.14, y: 46.2 }, attributes: { name: "Genève", visits: 11 } }
  ]
}

describe("results as files (…/results/<param>?f=shapefile|csv|kml|kmz|geopackage)", () => {
  let buffered = ""
  beforeAll(async () => {
    buffered = await run("Buffer", {
      Input_Features: JSON.stringify(sites),
      Distance: '{"distance":2,"units":"esriKilometers"}'
    })
  })

  const formats = [
    { f: "shapefile", type: "application/zip", extension: ".zip" },
    { f: "csv", type: "text/csv; charset=utf-8", extension: ".csv" },
    { f: "kml", type: "application/vnd.google-earth.kml+xml", extension: ".kml" },
    { f: "kmz", type: "application/vnd.google-earth.kmz", extension: ".kmz" },
    { f: "geopackage", type: "application/geopackage+sqlite3", extension: ".gpkg" }
  ] as const

  for (const { f, type, extension } of formats) {
    it(`f=${f}: ${type}, a download named Output_Features${extension}, read back with its features, attributes and geometry type`, async () => {
      const answer = await get(`${buffered}/results/Output_Features?f=${f}`)
      assert.strictEqual(answer.status, 200, new TextDecoder().decode(answer.bytes.subarray(0, 300)))
      assert.strictEqual(answer.type, type)
      assert.strictEqual(answer.disposition, `attachment; filename="Output_Features${extension}"`)
      const read = await Effect.runPromise(DataFormat.read(answer.bytes, { fileName: `Output_Features${extension}` }))
      assert.strictEqual(read.features.length, 3)
      assert.strictEqual(read.geometryType, "esriGeometryPolygon")
      const byName = new Map(read.features.map((feature) => [feature.attributes?.name, feature.attributes?.visits]))
      assert.deepStrictEqual(
        new Map([...byName].map(([name, visits]) => [name, Number(visits)])),
        new Map([
          ["Zürich", 3],
          ["Bern", 7],
          ["Genève", 11]
        ])
      )
      if (Ogr.available) {
        const ogr = Ogr.summary(answer.bytes, `Output_Features${extension}`)
        assert.strictEqual(ogr.featureCount, 3, ogr.text)
        if (f === "shapefile" || f === "geopackage") {
          assert.match(ogr.geometry ?? "", /Polygon/i, ogr.text)
          assert.deepInclude(ogr.fields, { name: "String", visits: "Integer" }, ogr.text)
        }
      }
    })
  }

  it("the aliases shp, zip and gpkg (and the media type) name the same files", async () => {
    for (const [f, extension] of [
      ["shp", ".zip"],
      ["zip", ".zip"],
      ["gpkg", ".gpkg"],
      ["GeoPackage", ".gpkg"],
      ["application/geopackage+sqlite3", ".gpkg"]
    ] as const) {
      const answer = await get(`${buffered}/results/Output_Features?f=${encodeURIComponent(f)}`)
      assert.strictEqual(answer.status, 200, f)
      assert.strictEqual(answer.disposition, `attachment; filename="Output_Features${extension}"`, f)
      const read = await Effect.runPromise(DataFormat.read(answer.bytes))
      assert.strictEqual(read.features.length, 3, f)
    }
  })

  it("outSR is honoured by the GeoPackage and the shapefile (their coordinate system is Web Mercator)", async () => {
    for (const f of ["geopackage", "shapefile"]) {
      const answer = await get(`${buffered}/results/Output_Features?f=${f}&outSR=3857`)
      assert.strictEqual(answer.status, 200, f)
      const read = await Effect.runPromise(DataFormat.read(answer.bytes))
      assert.strictEqual(read.spatialReference?.latestWkid ?? read.spatialReference?.wkid, 3857, f)
      const ring = (read.features[0]?.geometry as { rings?: Array<Array<[number, number]>> } | undefined)?.rings?.[0]
      assert.isAbove(Math.abs(ring?.[0]?.[0] ?? 0), 100_000, `${f}: metres, not degrees`)
      if (Ogr.available)
        assert.strictEqual(Ogr.summary(answer.bytes, `x.${f === "shapefile" ? "zip" : "gpkg"}`).epsg, 3857)
    }
    const wrong = await get(`${buffered}/results/Output_Features?f=geopackage&outSR=99999`)
    const error = errorOf(wrong.bytes)
    assert.strictEqual(error.code, 400)
    assert.match(error.details.join(" "), /^outSR/)
  })

  it("the result's HTML page links to every format it downloads as", async () => {
    const page = new TextDecoder().decode((await get(`${buffered}/results/Output_Features`)).bytes)
    for (const f of ["geojson", "shapefile", "csv", "kml", "kmz", "geopackage"]) {
      assert.include(page, `/results/Output_Features?f=${f}">Download as ${f}</a>`)
    }
  })

  it("the same formats serve a feature-set input (…/inputs/<param>)", async () => {
    const answer = await get(`${buffered}/inputs/Input_Features?f=csv`)
    assert.strictEqual(answer.status, 200)
    assert.strictEqual(answer.disposition, `attachment; filename="Input_Features.csv"`)
    const read = await Effect.runPromise(DataFormat.read(answer.bytes, { format: "csv" }))
    assert.strictEqual(read.geometryType, "esriGeometryPoint")
    assert.deepStrictEqual(
      read.features.map((feature) => feature.attributes?.name),
      ["Zürich", "Bern", "Genève"]
    )
  })

  it("a table (GPRecordSet) is written as CSV; other formats, other types and all results at once are 400 naming f", async () => {
    const tabulated = await run("Tabulate", { rows: "4" })
    const csv = await get(`${tabulated}/results/table?f=csv`)
    assert.strictEqual(csv.status, 200)
    assert.strictEqual(csv.disposition, `attachment; filename="table.csv"`)
    assert.strictEqual(new TextDecoder().decode(csv.bytes), "label,n\nrow 1,1\nrow 2,2\nrow 3,3\nrow 4,4\n")
    const echoed = await run("Echo", { input_string: "hello" })
    const reported = await run("Report", { title: "Q1" })
    for (const [url, mentions] of [
      [`${tabulated}/results/table?f=kml`, "csv"],
      [`${echoed}/results/output_string?f=csv`, "GPString"],
      [`${reported}/results/report?f=gpkg`, "GPDataFile"],
      [`${buffered}/results?f=shapefile`, "results/<parameter>"]
    ] as const) {
      const answer = await get(url)
      assert.strictEqual(answer.status, 200, url)
      assert.match(answer.type, /^application\/json/, url)
      const error = errorOf(answer.bytes)
      assert.strictEqual(error.code, 400, url)
      assert.match(error.details.join(" "), /^f=/, url)
      assert.include(error.details.join(" "), mentions, url)
    }
  })

  it("a tool's output file is served with its extension's type, as a download under its own name", async () => {
    const reported = await run("Report", { title: "Q2" })
    const value = RestJob.parameterValueSchema.parse(
      JSON.parse(new TextDecoder().decode((await get(`${reported}/results/report?f=json`)).bytes))
    )
    const file = await get((value.value as { url: string }).url)
    assert.strictEqual(file.status, 200)
    assert.strictEqual(file.type, "text/plain; charset=utf-8")
    assert.strictEqual(file.disposition, `attachment; filename="report.txt"`)
    assert.strictEqual(new TextDecoder().decode(file.bytes), "Report: Q2\n")
  })
})

describe("reshaped and big JSON results, made off the main thread", () => {
  it("a big result as json, pjson, geojson, in another spatial reference and in a JSONP callback", async () => {
    // 400 buffered points: a value of a few hundred kilobytes, over the off-thread threshold.
    const many = {
      ...sites,
      features: Array.from({ length: 400 }, (_, i) => ({
        geometry: { x: 5 + (i % 20) * 0.2, y: 45 + Math.floor(i / 20) * 0.2 },
        attributes: { name: `site ${i}`, visits: i }
      }))
    }
    const url = await run("Buffer", {
      Input_Features: JSON.stringify(many),
      Distance: '{"distance":1,"units":"esriKilometers"}'
    })
    const json = await get(`${url}/results/Output_Features?f=json`)
    assert.isAbove(json.bytes.length, ResultFiles.offThreadBytes)
    assert.match(json.type, /^application\/json/)
    const doc = RestJob.parameterValueSchema.parse(JSON.parse(new TextDecoder().decode(json.bytes)))
    assert.strictEqual(doc.paramName, "Output_Features")
    assert.strictEqual(doc.dataType, "GPFeatureRecordSetLayer")
    assert.strictEqual((doc.value as { features: Array<unknown> }).features.length, 400)
    const pretty = new TextDecoder().decode((await get(`${url}/results/Output_Features?f=pjson`)).bytes)
    assert.include(pretty, '\n  "paramName": "Output_Features"')
    const geojson = await get(`${url}/results/Output_Features?f=geojson`)
    assert.match(geojson.type, /^application\/geo\+json/)
    const collection = JSON.parse(new TextDecoder().decode(geojson.bytes)) as {
      type: string
      features: Array<{ properties: { name: string } }>
    }
    assert.strictEqual(collection.type, "FeatureCollection")
    assert.strictEqual(collection.features[399]?.properties.name, "site 399")
    const mercator = JSON.parse(
      new TextDecoder().decode((await get(`${url}/results/Output_Features?f=json&outSR=102100`)).bytes)
    ) as { value: { spatialReference: unknown } }
    assert.deepStrictEqual(mercator.value.spatialReference, { wkid: 102100, latestWkid: 3857 })
    const jsonp = await get(`${url}/results/Output_Features?f=geojson&callback=show.features`)
    assert.match(jsonp.type, /^application\/javascript/)
    const text = new TextDecoder().decode(jsonp.bytes)
    assert.match(text, /^show\.features\(\{"type":"FeatureCollection".*\}\);$/s)
    const all = JSON.parse(new TextDecoder().decode((await get(`${url}/results?f=json&outSR=3857`)).bytes)) as Array<{
      paramName: string
      value: { spatialReference: unknown }
    }>
    assert.deepStrictEqual(
      all.map((v) => [v.paramName, v.value.spatialReference]),
      [["Output_Features", { wkid: 102100, latestWkid: 3857 }]]
    )
  })
})

describe("the conversion thread pool", () => {
  it("reads a value kept in a file itself, moves the bytes back, and is gone when the app closes", async () => {
    const app = Fastify()
    const converter = ResultFiles.register(app)
    await app.ready()
    const path = join(mkdtempSync(join(tmpdir(), "geojobs-result-files-")), "value.json")
    writeFileSync(path, JSON.stringify(sites))
    const value = { dataType: "GPFeatureRecordSetLayer", json: "", file: path }
    const done = await converter.run({ kind: "file", value, format: "geopackage", name: "sites", outSR: undefined })
    assert.strictEqual(done._tag, "bytes")
    if (done._tag !== "bytes") return
    assert.strictEqual(done.mediaType, "application/geopackage+sqlite3")
    assert.strictEqual(done.bytes.byteLength, done.bytes.buffer.byteLength, "the whole buffer came back, moved")
    const read = await Effect.runPromise(DataFormat.read(done.bytes))
    assert.deepStrictEqual(
      read.features.map((feature) => feature.attributes?.name),
      ["Zürich", "Bern", "Genève"]
    )
    const refused = await converter.run({
      kind: "json",
      values: [{ name: "sites", value }],
      single: true,
      geojson: false,
      outSR: "EPSG:99999",
      pretty: false
    })
    assert.strictEqual(refused._tag, "refused")
    await app.close()
    const after = await converter
      .run({ kind: "json", values: [], single: false, geojson: false, outSR: undefined, pretty: false })
      .then(
        () => "ran",
        (error: Error) => error.message
      )
    assert.strictEqual(after, "the server is closing")
  })
})

describe("naming files on the wire", () => {
  it("Content-Disposition quotes safely (RFC 6266) and adds filename* for names beyond ASCII", () => {
    assert.strictEqual(ResultFiles.contentDisposition("report.txt"), `attachment; filename="report.txt"`)
    assert.strictEqual(
      ResultFiles.contentDisposition('a "quoted" name.csv'),
      `attachment; filename="a _quoted_ name.csv"; filename*=UTF-8''a%20%22quoted%22%20name.csv`
    )
    assert.strictEqual(ResultFiles.contentDisposition("C:\\work\\out.zip"), `attachment; filename="out.zip"`)
    assert.strictEqual(
      ResultFiles.contentDisposition("Grüße.gpkg"),
      `attachment; filename="Gr__e.gpkg"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.gpkg`
    )
    assert.strictEqual(
      ResultFiles.contentDisposition("dir/sub/out\r\n.kml"),
      `attachment; filename="out__.kml"; filename*=UTF-8''out%0D%0A.kml`
    )
  })

  it("the names f takes and the media types agree with the tools' DataFormat", async () => {
    for (const f of ["shapefile", "shp", "zip", "csv", "txt", "kml", "kmz", "geopackage", "gpkg"]) {
      const named = ArcGISRequest.fileFormat({ f })
      assert.strictEqual(named, await Effect.runPromise(DataFormat.parseFormat(f)), f)
    }
    for (const format of DataFormat.writableFormats) {
      const { mediaType, extension } = DataFormat.info[format]
      if (format !== "geojson") {
        assert.strictEqual(ArcGISRequest.fileFormat({ f: mediaType }), format)
      }
      assert.strictEqual(ResultFiles.mediaTypeOf(`x${extension}`).replace("; charset=utf-8", ""), mediaType)
    }
    assert.strictEqual(ResultFiles.mediaTypeOf("x.unknown"), "application/octet-stream")
    assert.strictEqual(ArcGISRequest.fileFormat({ f: "json" }), undefined)
    assert.strictEqual(ArcGISRequest.format({ f: "gpkg" }), "json", "a file format's errors are JSON")
  })
})
