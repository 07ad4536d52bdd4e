import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminJob, RestJob } from "@geojobs/core"
import { form, get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

// The real server, started as a newcomer would (node src/main.ts), on a free port, talking HTTP over a socket.
let server: ServerProcess
let base = ""
const metricsToken = "e2e-metrics-token-0123456789abcdef"

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-e2e-"))
  server = await start({
    GEOJOBS_DATA_DIR: dataDir,
    GEOJOBS_ADMIN_PASSWORD: "e2e admin password",
    GEOJOBS_LOG_LEVEL: "silent",
    GEOJOBS_ALLOWED_ORIGINS: "https://app.example.com",
    GEOJOBS_METRICS_TOKEN: metricsToken,
    GEOJOBS_NODE_NAME: "e2e-node"
  })
  base = server.base
}, 60_000)
afterAll(() => server?.stop())

describe("GeoJobs end to end on a real port", () => {
  it("token → Buffer → poll → results → the seed admin document; cancel a Sleep; page the admin query", async () => {
    const token = await signIn({ base }, "e2e admin password")
    assert.isString(token)

    const point = {
      geometryType: "esriGeometryPoint",
      spatialReference: { wkid: 4326 },
      fields: [{ name: "OID", type: "esriFieldTypeOID" }],
      features: [{ geometry: { x: 13.405, y: 52.52 }, attributes: { OID: 1 } }]
    }
    const submitted = RestJob.schema.parse(
      await form(`${base}/rest/services/Analysis/Geometry/GPServer/Buffer/submitJob`, {
        Input_Features: JSON.stringify(point),
        Distance: JSON.stringify({ distance: 1, units: "esriKilometers" }),
        f: "json",
        token
      })
    )
    const jobUrl = `${base}/rest/services/Analysis/Geometry/GPServer/Buffer/jobs/${submitted.jobId}`
    let status = submitted.jobStatus
    for (let i = 0; i < 200 && status !== "esriJobSucceeded" && status !== "esriJobFailed"; i++) {
      await new Promise((r) => setTimeout(r, 50))
      status = RestJob.schema.parse(await get(`${jobUrl}?f=json&token=${token}`)).jobStatus
    }
    assert.strictEqual(status, "esriJobSucceeded")
    const result = await get(`${jobUrl}/results/Output_Features?f=json&token=${token}`)
    const value = result.value as { geometryType: string; features: Array<unknown> }
    assert.strictEqual(value.geometryType, "esriGeometryPolygon")
    assert.lengthOf(value.features, 1)

    const seed = AdminJob.schema.parse(
      await get(`${base}/admin/services/Analysis/Geometry.GPServer/jobs/${submitted.jobId}?f=pjson&token=${token}`)
    )
    assert.strictEqual(seed.status, "Succeeded")
    assert.strictEqual(seed.username, "admin")
    assert.strictEqual(seed.url, `${base}/rest/services/Analysis/Geometry/GPServer/jobs/${submitted.jobId}`)

    const sleep = RestJob.schema.parse(
      await form(`${base}/rest/services/System/Utilities/GPServer/Sleep/submitJob`, { seconds: "60", f: "json", token })
    )
    const sleepUrl = `${base}/rest/services/System/Utilities/GPServer/Sleep/jobs/${sleep.jobId}`
    for (let i = 0; i < 100; i++) {
      if (RestJob.schema.parse(await get(`${sleepUrl}?f=json&token=${token}`)).jobStatus === "esriJobExecuting") break
      await new Promise((r) => setTimeout(r, 50))
    }
    await form(`${sleepUrl}/cancel`, { f: "json", token })
    let cancelled = ""
    for (let i = 0; i < 60 && cancelled !== "esriJobCancelled"; i++) {
      await new Promise((r) => setTimeout(r, 50))
      cancelled = RestJob.schema.parse(await get(`${sleepUrl}?f=json&token=${token}`)).jobStatus
    }
    assert.strictEqual(cancelled, "esriJobCancelled")

    for (let i = 0; i < 3; i++) {
      await form(`${base}/rest/services/System/Utilities/GPServer/Echo/submitJob`, {
        input_string: `e${i}`,
        f: "json",
        token
      })
    }
    const query = `${base}/admin/services/System/Utilities.GPServer/jobs/query?f=json&number=2&token=${token}`
    const first = await get(query)
    assert.strictEqual(first.total, 4)
    assert.strictEqual(first.nextStart, 3)
    const last = await get(`${query}&start=3`)
    assert.strictEqual(last.num, 2)
    assert.strictEqual(last.nextStart, -1)
  }, 60_000)

  it("prints where it listens, its node and stores, and how to sign in, never the metrics token", async () => {
    await server.waitForOutput("sign in as admin")
    const output = server.output()
    assert.include(output, "GeoJobs is listening on http://127.0.0.1:")
    assert.include(output, "(node e2e-node, role all)")
    assert.include(output, "stores:             SQLite in ")
    assert.include(output, "sign in as admin")
    assert.notInclude(output, metricsToken)
  })

  it("uploads: the sample's DataConversion takes a GeoJSON file, ConvertFeatures reads it by itemID", async () => {
    const token = await signIn({ base }, "e2e admin password")
    const service = `${base}/rest/services/Analysis/DataConversion/GPServer`
    assert.strictEqual((await get(`${service}?f=json`)).capabilities, "Uploads")
    assert.strictEqual((await get(`${service}/uploads/info?f=json`)).maxUploadFileSize, 100)
    const geojson = {
      type: "FeatureCollection",
      features: [
        { type: "Feature", properties: { name: "Berlin" }, geometry: { type: "Point", coordinates: [13.4, 52.5] } }
      ]
    }
    const body = new FormData()
    body.append("f", "json")
    body.append("file", new Blob([JSON.stringify(geojson)], { type: "application/geo+json" }), "berlin.geojson")
    body.append("token", token)
    const uploaded = (await (await fetch(`${service}/uploads/upload`, { method: "POST", body })).json()) as {
      success: boolean
      item: { itemID: string; committed: boolean }
    }
    assert.isTrue(uploaded.success)
    assert.isTrue(uploaded.item.committed)
    const submitted = RestJob.schema.parse(
      await form(`${service}/ConvertFeatures/submitJob`, {
        Input_File: JSON.stringify({ itemID: uploaded.item.itemID }),
        Output_Format: "featureset",
        f: "json",
        token
      })
    )
    const jobUrl = `${service}/ConvertFeatures/jobs/${submitted.jobId}`
    let status = submitted.jobStatus
    for (let i = 0; i < 400 && status !== "esriJobSucceeded" && status !== "esriJobFailed"; i++) {
      await new Promise((r) => setTimeout(r, 50))
      status = RestJob.schema.parse(await get(`${jobUrl}?f=json&token=${token}`)).jobStatus
    }
    assert.strictEqual(status, "esriJobSucceeded")
    const result = await get(`${jobUrl}/results/Output_Features?f=json&token=${token}`)
    const value = result.value as { features: Array<{ attributes: Record<string, unknown> }> }
    assert.strictEqual(value.features[0]?.attributes.name, "Berlin")
  })

  it("GEOJOBS_NODE_NAME: /health names the node", async () => {
    assert.deepStrictEqual(await get(`${server.origin}/health`), { status: "ok", node: "e2e-node" })
  })

  it("GEOJOBS_ALLOWED_ORIGINS: a preflight from a listed origin is allowed, from another origin not", async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/rest/info?f=json`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" }
      })
    const listed = await preflight("https://app.example.com")
    assert.strictEqual(listed.headers.get("access-control-allow-origin"), "https://app.example.com")
    assert.strictEqual(listed.headers.get("access-control-allow-credentials"), "true")
    const other = await preflight("https://elsewhere.example.com")
    assert.isNull(other.headers.get("access-control-allow-origin"))
  })

  it("GEOJOBS_METRICS_TOKEN: /metrics needs the bearer token, even from loopback", async () => {
    const origin = new URL(base).origin
    assert.strictEqual((await fetch(`${origin}/metrics`)).status, 403)
    const scraped = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    assert.strictEqual(scraped.status, 200)
    assert.include(await scraped.text(), "# TYPE")
  })
})
