// Uploads and service start/stop through the client, against a real server on a real port: the file goes up as a
// real multipart body (FormData, or the client's own streamed framing when progress is asked for), comes back as an
// item whose itemID a GPDataFile parameter takes, and an administrator stops and starts a service.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { TestServer } from "@geojobs/http-server/testing"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { ClientError, GeoJobsClient } from "../src/index.ts"
import { rejection } from "./support/Rejection.ts"

let server: TestServer.TestServer
let url = ""
const password = "client upload test password"

beforeAll(async () => {
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services: `${TestServer.defaultServices}  - folder: Data
    name: Conversion
    uploads: true
    tasks: [{tool: ConvertFeatures}]
`,
    password,
    users: [{ username: "viewer", role: "viewer" }],
    engine: { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 300 }
  })
  url = server.url
}, 60_000)
afterAll(async () => server.close())

const points = new TextEncoder().encode(
  JSON.stringify({
    type: "FeatureCollection",
    features: [
      { type: "Feature", geometry: { type: "Point", coordinates: [8.54, 47.37] }, properties: { city: "Zürich" } },
      { type: "Feature", geometry: { type: "Point", coordinates: [7.45, 46.95] }, properties: { city: "Bern" } }
    ]
  })
)

describe("uploads and service start/stop through the client", () => {
  it("uploads a file (with progress, and without), and a job converts it from its itemID", async () => {
    const client = await GeoJobsClient.connect({ url, username: "admin", password })
    const seen: Array<readonly [number, number]> = []
    const item = await client.upload("Data/Conversion", new Blob([points]), {
      fileName: "cities.geojson",
      description: "two cities",
      onProgress: (sent, total) => seen.push([sent, total])
    })
    assert.match(item.itemID, /^i[0-9a-f-]+$/)
    assert.strictEqual(item.itemName, "cities.geojson")
    assert.strictEqual(item.description, "two cities")
    assert.isTrue(item.committed)
    const total = seen[0]?.[1] ?? 0
    assert.isAbove(total, points.length)
    assert.deepStrictEqual(seen.at(-1), [total, total])
    assert.isTrue(seen.every(([sent], i) => i === 0 || sent >= (seen[i - 1]?.[0] ?? 0)))

    const plain = await client.upload("Data/Conversion", points, { fileName: "again.geojson" })
    assert.strictEqual(plain.description, "")
    assert.notStrictEqual(plain.itemID, item.itemID)

    const job = await client.submitJob("Data/Conversion", "ConvertFeatures", {
      Input_File: { itemID: item.itemID },
      Output_Format: "featureset"
    })
    const done = await client.waitForJob(client.jobRef("Data/Conversion", "ConvertFeatures", job.jobId), {
      intervalMs: 50
    })
    assert.strictEqual(done.jobStatus, "esriJobSucceeded", JSON.stringify(done.messages))
    const features = (await client.results(
      client.jobRef("Data/Conversion", "ConvertFeatures", job.jobId),
      "Output_Features"
    )) as { value: { features: ReadonlyArray<{ attributes: { city: string } }> } }
    assert.deepStrictEqual(
      features.value.features.map((f) => f.attributes.city),
      ["Zürich", "Bern"]
    )
  })

  it("a service without uploads, or a file type the server does not take, is the server's error", async () => {
    const client = await GeoJobsClient.connect({ url, username: "admin", password })
    const none = await rejection(client.upload("System/Utilities", points, { fileName: "cities.geojson" }))
    assert.instanceOf(none, ClientError)
    assert.strictEqual((none as ClientError).kind, "server")
    assert.strictEqual((none as ClientError).code, 404)
    const exe = await rejection(
      client.upload("Data/Conversion", points, { fileName: "tool.exe", onProgress: () => {} })
    )
    assert.strictEqual((exe as ClientError).kind, "server")
    assert.strictEqual((exe as ClientError).code, 400)
  })

  it("an administrator stops a service (new jobs refused with the server's message) and starts it again", async () => {
    const client = await GeoJobsClient.connect({ url, username: "admin", password })
    await client.admin.stopService("System/Utilities")
    try {
      const refused = await rejection(client.submitJob("System/Utilities", "Echo", { input_string: "no" }))
      assert.strictEqual((refused as ClientError).kind, "server")
      assert.include((refused as ClientError).detail, "is stopped")
    } finally {
      await client.admin.startService("System/Utilities")
    }
    const job = await client.submitJob("System/Utilities", "Echo", { input_string: "yes" })
    assert.isString(job.jobId)
    const viewer = await GeoJobsClient.connect({ url, username: "viewer", password })
    const forbidden = await rejection(viewer.admin.stopService("System/Utilities"))
    assert.strictEqual((forbidden as ClientError).code, 403)
  })
})
