// Uploads as ArcGIS has them, on a real server on a port with real multipart bodies (Node's fetch and FormData): a
// zipped shapefile uploaded, converted by ConvertFeatures from {"itemID":…} and read back; the item is its uploader's
// (another user is told it does not exist, and may not use it in a job); the service's size limit, the file types,
// the upload in parts, delete, and the retention sweep.
import { existsSync, readdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Ogr from "@geojobs/fixtures/Ogr"
import { SqliteStorage } from "@geojobs/store-sqlite"
import type { EsriGeometry } from "@geojobs/tools"
import * as DataFormat from "@geojobs/tools/DataFormat"
import { Effect } from "effect"
import { TestServer } from "../src/testing/index.ts"

const password = "correct horse battery"
let server: TestServer.TestServer
const tokens = new Map<string, string>()

const services = `services:
  - folder: Analysis
    name: DataConversion
    uploads: { maxUploadFileSize: 1, retention: 3600 }
    tasks: [{tool: ConvertFeatures}]
  - folder: Analysis
    name: Shortlived
    uploads: { retention: 1 }
    tasks: [{tool: ConvertFeatures}]
  - folder: Analysis
    name: Geometry
    uploads: true
    tasks: [{tool: Buffer}]
  - folder: System
    name: NoUploads
    tasks: [{tool: Echo}]
  - name: Private
    access: { roles: [publisher] }
    uploads: true
    tasks: [{tool: ConvertFeatures}]
`

const cities: EsriGeometry.EsriFeatureSet = {
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
let shapefile: Uint8Array

const service = (name = "Analysis/DataConversion") => `${server.url}/rest/services/${name}/GPServer`

// Files by URL: a real HTTP server on 127.0.0.1.
let files: Server
let filesOrigin = ""
let geojson: Uint8Array = new Uint8Array()

beforeAll(async () => {
  files = createServer((request, response) => {
    if (request.url === "/data/cities.zip") {
      response.writeHead(200, { "content-type": "application/zip" })
      return response.end(shapefile)
    }
    if (request.url === "/data/cities.geojson") {
      response.writeHead(200, { "content-type": "application/geo+json" })
      return response.end(geojson)
    }
    response.writeHead(404)
    response.end()
  })
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve))
  filesOrigin = `http://127.0.0.1:${(files.address() as { port: number }).port}`
  server = await TestServer.start({
    storage: (dataDir) => SqliteStorage.layer({ dataDir }),
    services,
    password,
    users: [
      { username: "analyst", role: "user" },
      { username: "colleague", role: "user" },
      { username: "publisher", role: "publisher" }
    ],
    engine: {
      maxWorkers: 1,
      progressIntervalMs: 100,
      pollIntervalMs: 50,
      shutdownGraceMs: 500,
      sweepIntervalMs: 100,
      // The test's file server is on loopback: allowed by its address only (localhost stays refused).
      urlInputs: { allowedHosts: ["127.0.0.1"] }
    }
  })
  shapefile = (await Effect.runPromise(DataFormat.write(cities, "shapefile", { name: "cities" }))).bytes
  geojson = (await Effect.runPromise(DataFormat.write(cities, "geojson", { name: "cities" }))).bytes
})
afterAll(async () => {
  files.closeAllConnections()
  files.close()
  await server.close()
})

const token = async (username: string) => {
  const known = tokens.get(username)
  if (known !== undefined) return known
  const response = await fetch(`${server.url}/tokens/generateToken`, {
    method: "POST",
    body: new URLSearchParams({ username, password, client: "requestip", f: "json" })
  })
  const { token: issued } = (await response.json()) as { token: string }
  tokens.set(username, issued)
  return issued
}

interface Fields {
  readonly [name: string]: string | { readonly bytes: Uint8Array; readonly name: string }
}

/** A real multipart POST, its fields in the given order (the token, as clients send it, last). */
const multipart = async (url: string, fields: Fields): Promise<Record<string, unknown>> => {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") form.append(name, value)
    else form.append(name, new Blob([value.bytes]), value.name)
  }
  const response = await fetch(url, { method: "POST", body: form })
  assert.strictEqual(response.status, 200)
  return (await response.json()) as Record<string, unknown>
}

const form = async (url: string, fields: Record<string, string>, method: "GET" | "POST" = "POST") => {
  const body = new URLSearchParams({ f: "json", ...fields })
  const response = method === "POST" ? await fetch(url, { method, body }) : await fetch(`${url}?${body.toString()}`)
  return (await response.json()) as Record<string, unknown>
}

const errorOf = (doc: Record<string, unknown>) =>
  doc.error as { readonly code: number; readonly message: string; readonly details: ReadonlyArray<string> }

interface ItemAnswer {
  readonly success: boolean
  readonly item: { itemID: string; itemName: string; description: string; date: number; committed: boolean }
}

const upload = async (username: string | undefined, bytes: Uint8Array, name: string, at = service()) =>
  multipart(`${at}/uploads/upload`, {
    f: "json",
    file: { bytes, name },
    description: "cities of a colleague",
    ...(username === undefined ? {} : { token: await token(username) })
  })

const waitForJob = async (url: string, tokenText: string) => {
  for (;;) {
    const job = await form(url, { token: tokenText }, "GET")
    if (!["esriJobSubmitted", "esriJobWaiting", "esriJobExecuting", "esriJobNew"].includes(String(job.jobStatus))) {
      return job
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Runs ConvertFeatures on an item to a GeoPackage and reads the file back with GeoJobs' reader. */
const convert = async (username: string, itemID: string, at = service()) => {
  const t = await token(username)
  const submitted = await form(`${at}/ConvertFeatures/submitJob`, {
    Input_File: JSON.stringify({ itemID }),
    Output_Format: "geopackage",
    token: t
  })
  if (submitted.error !== undefined) return { submitted, job: undefined, read: undefined, bytes: undefined }
  const jobUrl = `${at}/ConvertFeatures/jobs/${String(submitted.jobId)}`
  const job = await waitForJob(jobUrl, t)
  if (job.jobStatus !== "esriJobSucceeded") return { submitted, job, read: undefined, bytes: undefined }
  const result = await form(`${jobUrl}/results/Output_File`, { token: t }, "GET")
  const url = (result.value as { url: string }).url
  const file = await fetch(`${url}?token=${t}`)
  const bytes = new Uint8Array(await file.arrayBuffer())
  return { submitted, job, read: await Effect.runPromise(DataFormat.read(bytes)), bytes }
}

describe("Uploads", () => {
  it("admin/uploads lists every service's items, anonymous ones included, to administrators only", async () => {
    const mine = (await upload("analyst", shapefile, "mine.zip")) as unknown as ItemAnswer
    const anonymous = (await upload(undefined, shapefile, "anyone.zip")) as unknown as ItemAnswer
    const listed = (await form(`${server.url}/admin/uploads`, { token: await token("admin") }, "GET")) as {
      items: Array<{ itemID: string; owner: string | null; service: string; size: number }>
    }
    const found = (id: string) => listed.items.find((i) => i.itemID === id)
    assert.strictEqual(found(mine.item.itemID)?.owner, "analyst")
    assert.strictEqual(found(mine.item.itemID)?.service, "Analysis/DataConversion")
    assert.strictEqual(found(mine.item.itemID)?.size, shapefile.length)
    assert.isNull(found(anonymous.item.itemID)?.owner)
    const page = await fetch(`${server.url}/admin/uploads?token=${await token("admin")}`)
    assert.include(await page.text(), mine.item.itemID)
    const refused = await form(`${server.url}/admin/uploads`, { token: await token("analyst") }, "GET")
    assert.strictEqual((refused as { code?: number }).code, 403)
  })

  it("the GPServer says Uploads; uploads/info gives the limit in MB and the types", async () => {
    assert.strictEqual((await form(service(), {}, "GET")).capabilities, "Uploads")
    assert.strictEqual((await form(service("System/NoUploads"), {}, "GET")).capabilities, "")
    const info = await form(`${service()}/uploads/info`, {}, "GET")
    assert.strictEqual(info.maxUploadFileSize, 1)
    assert.include(String(info.allowedUploadFileTypes), "zip")
    assert.include(String(info.allowedUploadFileTypes), "gpkg")
    const none = errorOf(await form(`${service("System/NoUploads")}/uploads/info`, {}, "GET"))
    assert.strictEqual(none.code, 404)
  })

  it("a zipped shapefile uploaded (token last) is converted from its itemID and reads back", async () => {
    const answer = (await upload("analyst", shapefile, "cities.zip")) as unknown as ItemAnswer
    assert.isTrue(answer.success)
    assert.match(answer.item.itemID, /^i[0-9a-f]{8}-[0-9a-f]{4}-/)
    assert.strictEqual(answer.item.itemName, "cities.zip")
    assert.strictEqual(answer.item.description, "cities of a colleague")
    assert.isTrue(answer.item.committed)
    assert.deepStrictEqual(Object.keys(answer.item), ["itemID", "itemName", "description", "date", "committed"])
    const item = await form(`${service()}/uploads/${answer.item.itemID}`, { token: await token("analyst") }, "GET")
    assert.strictEqual(item.itemID, answer.item.itemID)
    const listed = await form(`${service()}/uploads`, { token: await token("analyst") }, "GET")
    assert.deepInclude(listed.items as ReadonlyArray<unknown>, answer.item)

    const { job, read, bytes } = await convert("analyst", answer.item.itemID)
    assert.strictEqual(job?.jobStatus, "esriJobSucceeded", JSON.stringify(job))
    assert.strictEqual(read?.features.length, 3)
    // The GeoPackage as QGIS would open it: GDAL's reader, independent of ours (where GDAL is installed).
    if (Ogr.available) {
      const gdal = Ogr.summary(bytes ?? new Uint8Array(), "cities.gpkg")
      assert.strictEqual(gdal.featureCount, 3, gdal.text)
      assert.match(gdal.geometry ?? "", /Point/, gdal.text)
    }
    assert.deepStrictEqual(
      read?.features.map((f) => f.attributes),
      cities.features.map((f) => f.attributes)
    )
    // The job has its own copy: the upload stays where it was.
    assert.isTrue(existsSync(join(server.dataDir, "uploads", answer.item.itemID, "file")))
  })

  it("an uploaded zipped shapefile is the features of a GPFeatureRecordSetLayer (Buffer), read in the worker", async () => {
    const at = service("Analysis/Geometry")
    const t = await token("analyst")
    const answer = (await upload("analyst", shapefile, "cities.zip", at)) as unknown as ItemAnswer
    const submitted = await form(`${at}/Buffer/submitJob`, {
      Input_Features: JSON.stringify({ itemID: answer.item.itemID }),
      Distance: JSON.stringify({ distance: 1, units: "esriKilometers" }),
      token: t
    })
    assert.isUndefined(submitted.error, JSON.stringify(submitted))
    const jobUrl = `${at}/Buffer/jobs/${String(submitted.jobId)}`
    const job = await waitForJob(jobUrl, t)
    assert.strictEqual(job.jobStatus, "esriJobSucceeded", JSON.stringify(job))
    const names = Object.keys(job.results as object)
    const result = await form(`${jobUrl}/results/${names[0]}`, { token: t }, "GET")
    const buffered = result.value as EsriGeometry.EsriFeatureSet
    assert.strictEqual(buffered.geometryType, "esriGeometryPolygon")
    assert.strictEqual(buffered.features.length, 3)
    // Another user's item is refused at submit, naming the parameter.
    const refused = errorOf(
      await form(`${at}/Buffer/submitJob`, {
        Input_Features: JSON.stringify({ itemID: answer.item.itemID }),
        Distance: JSON.stringify({ distance: 1, units: "esriKilometers" }),
        token: await token("colleague")
      })
    )
    assert.strictEqual(refused.code, 400)
    assert.match(refused.details.join(" "), /Input_Features/)
  })

  it("another user is told the item does not exist, and may not use it in a job", async () => {
    const mine = (await upload("analyst", shapefile, "mine.zip")) as unknown as ItemAnswer
    const id = mine.item.itemID
    const unknown = "i00000000-0000-4000-8000-000000000000"
    for (const who of ["colleague", undefined] as const) {
      const t = who === undefined ? {} : { token: await token(who) }
      const theirs = errorOf(await form(`${service()}/uploads/${id}`, t, "GET"))
      const none = errorOf(await form(`${service()}/uploads/${unknown}`, t, "GET"))
      assert.strictEqual(theirs.code, 404)
      assert.deepStrictEqual(
        { ...theirs, message: theirs.message.replace(id, "X") },
        {
          ...none,
          message: none.message.replace(unknown, "X")
        }
      )
      assert.strictEqual(errorOf(await form(`${service()}/uploads/${id}/delete`, t)).code, 404)
    }
    const { submitted } = await convert("colleague", id)
    const refused = errorOf(submitted)
    assert.strictEqual(refused.code, 400)
    assert.match(refused.details.join(" "), /Input_File/)
    assert.match(refused.details.join(" "), /does not exist/)
    // Still there for its owner.
    assert.strictEqual((await form(`${service()}/uploads/${id}`, { token: await token("analyst") }, "GET")).itemID, id)
  })

  it("an anonymous upload to a public service belongs to whoever holds its id", async () => {
    const answer = (await upload(undefined, shapefile, "anon.zip")) as unknown as ItemAnswer
    assert.isTrue(answer.success)
    assert.strictEqual(
      (await form(`${service()}/uploads/${answer.item.itemID}`, { token: await token("colleague") }, "GET")).itemID,
      answer.item.itemID
    )
    const { job } = await convert("colleague", answer.item.itemID)
    assert.strictEqual(job?.jobStatus, "esriJobSucceeded")
  })

  it("a secured service refuses an anonymous upload (token required) and keeps nothing", async () => {
    const before = readdirSync(join(server.dataDir, "uploads")).length
    const refused = errorOf(await upload(undefined, shapefile, "x.zip", service("Private")))
    assert.strictEqual(refused.code, 499)
    assert.strictEqual(errorOf(await upload("analyst", shapefile, "x.zip", service("Private"))).code, 403)
    assert.strictEqual(readdirSync(join(server.dataDir, "uploads")).length, before)
    const ok = (await upload("publisher", shapefile, "x.zip", service("Private"))) as unknown as ItemAnswer
    assert.isTrue(ok.success)
  })

  it("a file over the service's limit is refused with a 413 naming the limit", async () => {
    const before = readdirSync(join(server.dataDir, "uploads")).length
    const big = new TextEncoder().encode("x,y\n".repeat(300_000))
    const refused = errorOf(await upload("analyst", big, "big.csv"))
    assert.strictEqual(refused.code, 413)
    assert.strictEqual(refused.message, "The file is larger than the maximum upload file size of 1 MB.")
    assert.strictEqual(readdirSync(join(server.dataDir, "uploads")).length, before)
  })

  it("a file of a type not allowed, or whose content is not its type, is refused", async () => {
    const exe = errorOf(await upload("analyst", Uint8Array.from([0x4d, 0x5a, 0, 0]), "tool.exe"))
    assert.strictEqual(exe.code, 400)
    assert.match(exe.details.join(" "), /\.exe files may not be uploaded/)
    const fake = errorOf(await upload("analyst", new TextEncoder().encode("not a zip"), "fake.zip"))
    assert.strictEqual(fake.code, 400)
    assert.match(fake.details.join(" "), /not a zip archive/)
    const noFile = errorOf(await multipart(`${service()}/uploads/upload`, { f: "json", token: await token("analyst") }))
    assert.match(noFile.details.join(" "), /file/)
    const get = errorOf(await form(`${service()}/uploads/upload`, { token: await token("analyst") }, "GET"))
    assert.strictEqual(get.code, 405)
  })

  it("a big file in parts: register, uploadPart (out of order), parts, commit, then a job on it", async () => {
    const t = await token("analyst")
    const registered = (await form(`${service()}/uploads/register`, {
      itemName: "cities.zip",
      description: "in parts",
      token: t
    })) as unknown as ItemAnswer
    assert.isFalse(registered.item.committed)
    const id = registered.item.itemID
    const third = Math.ceil(shapefile.length / 3)
    const chunks = [shapefile.subarray(0, third), shapefile.subarray(third, 2 * third), shapefile.subarray(2 * third)]
    for (const partId of [3, 1, 2]) {
      const answer = await multipart(`${service()}/uploads/${id}/uploadPart`, {
        f: "json",
        file: { bytes: chunks[partId - 1] ?? new Uint8Array(), name: `cities.zip.${partId}` },
        partId: String(partId),
        token: t
      })
      assert.isTrue(answer.success, JSON.stringify(answer))
    }
    assert.deepStrictEqual((await form(`${service()}/uploads/${id}/parts`, { token: t }, "GET")).parts, [1, 2, 3])
    // Not committed yet: no job may use it.
    const early = errorOf((await convert("analyst", id)).submitted)
    assert.match(early.details.join(" "), /committed/)
    const colleague = errorOf(await form(`${service()}/uploads/${id}/commit`, { token: await token("colleague") }))
    assert.strictEqual(colleague.code, 404)
    const committed = (await form(`${service()}/uploads/${id}/commit`, {
      parts: "1,2,3",
      token: t
    })) as unknown as ItemAnswer
    assert.isTrue(committed.item.committed)
    const { job, read } = await convert("analyst", id)
    assert.strictEqual(job?.jobStatus, "esriJobSucceeded")
    assert.strictEqual(read?.features.length, 3)
    const again = errorOf(await form(`${service()}/uploads/${id}/commit`, { token: t }))
    assert.strictEqual(again.code, 400)
  })

  it("delete removes the item: it no longer exists, and a job naming it is refused", async () => {
    const t = await token("analyst")
    const answer = (await upload("analyst", shapefile, "gone.zip")) as unknown as ItemAnswer
    const id = answer.item.itemID
    assert.deepStrictEqual(await form(`${service()}/uploads/${id}/delete`, { token: t }), { success: true })
    assert.strictEqual(errorOf(await form(`${service()}/uploads/${id}`, { token: t }, "GET")).code, 404)
    assert.isFalse(existsSync(join(server.dataDir, "uploads", id)))
    const refused = errorOf((await convert("analyst", id)).submitted)
    assert.strictEqual(refused.code, 400)
    assert.match(refused.details.join(" "), /Input_File/)
  })

  it("an item of one service is not an item of another", async () => {
    const answer = (await upload("analyst", shapefile, "here.zip")) as unknown as ItemAnswer
    const other = errorOf((await convert("analyst", answer.item.itemID, service("Analysis/Shortlived"))).submitted)
    assert.strictEqual(other.code, 400)
    assert.match(other.details.join(" "), /Input_File/)
  })

  it("a file by URL is fetched before the run; addresses that are not public are refused", async () => {
    const t = await token("analyst")
    const run = async (url: string) => {
      const submitted = await form(`${service()}/ConvertFeatures/submitJob`, {
        Input_File: JSON.stringify({ url }),
        Output_Format: "featureset",
        token: t
      })
      if (submitted.error !== undefined) return { submitted, job: undefined }
      return { submitted, job: await waitForJob(`${service()}/ConvertFeatures/jobs/${String(submitted.jobId)}`, t) }
    }
    const fetched = await run(`${filesOrigin}/data/cities.zip`)
    assert.strictEqual(fetched.job?.jobStatus, "esriJobSucceeded", JSON.stringify(fetched.job))
    // A literal private address: refused at submit, naming the parameter.
    const metadata = errorOf((await run("http://169.254.169.254/latest/meta-data")).submitted)
    assert.strictEqual(metadata.code, 400)
    assert.match(metadata.details.join(" "), /Input_File.*not a public address/)
    // A name resolving to loopback: the run fails saying why.
    const port = (files.address() as { port: number }).port
    const byName = await run(`http://localhost:${port}/data/cities.zip`)
    assert.strictEqual(byName.job?.jobStatus, "esriJobFailed")
    const messages = ((byName.job?.messages ?? []) as ReadonlyArray<{ description: string }>).map((m) => m.description)
    assert.match(messages.join(" "), /Input_File: .*resolves to .*not a public address/)
  })

  it("a feature set by URL (a GeoJSON file) is fetched and read into Buffer's features", async () => {
    const t = await token("analyst")
    const geometry = `${server.url}/rest/services/Analysis/Geometry/GPServer`
    const submitted = await form(`${geometry}/Buffer/submitJob`, {
      Input_Features: JSON.stringify({ url: `${filesOrigin}/data/cities.geojson` }),
      Distance: JSON.stringify({ distance: 1, units: "esriKilometers" }),
      token: t
    })
    assert.isUndefined(submitted.error, JSON.stringify(submitted))
    const job = await waitForJob(`${geometry}/Buffer/jobs/${String(submitted.jobId)}`, t)
    assert.strictEqual(job.jobStatus, "esriJobSucceeded", JSON.stringify(job))
    const result = await form(
      `${geometry}/Buffer/jobs/${String(submitted.jobId)}/results/Output_Features`,
      { token: t },
      "GET"
    )
    const buffered = result.value as { geometryType: string; features: ReadonlyArray<unknown> }
    assert.strictEqual(buffered.geometryType, "esriGeometryPolygon")
    assert.strictEqual(buffered.features.length, cities.features.length)
  })

  it("an OGC input by reference (href) to a file is fetched the same way; other inputs refuse references", async () => {
    const bearer = { authorization: `Bearer ${await token("analyst")}`, "content-type": "application/json" }
    const root = server.url.replace(/\/arcgis$/, "/ogcapi")
    const execute = (inputs: Record<string, unknown>) =>
      fetch(`${root}/processes/Analysis.DataConversion.ConvertFeatures/execution`, {
        method: "POST",
        headers: { ...bearer, prefer: "respond-async" },
        body: JSON.stringify({ inputs })
      })
    const created = await execute({
      Input_File: { href: `${filesOrigin}/data/cities.zip` },
      Output_Format: "featureset"
    })
    assert.strictEqual(created.status, 201)
    const location = created.headers.get("location") ?? ""
    let status = ""
    for (let i = 0; i < 300 && !["successful", "failed", "dismissed"].includes(status); i++) {
      await new Promise((r) => setTimeout(r, 50))
      status = ((await (await fetch(location, { headers: bearer })).json()) as { status: string }).status
    }
    assert.strictEqual(status, "successful")
    const refused = await execute({
      Input_File: { href: `${filesOrigin}/data/cities.zip` },
      Output_Format: { href: `${filesOrigin}/format` }
    })
    assert.strictEqual(refused.status, 400)
    assert.include(((await refused.json()) as { detail: string }).detail, "Output_Format")
  })

  it("a stopped service takes no new uploads (503) and keeps none of the refused file; started again, it does", async () => {
    const admin = await token("admin")
    const control = `${server.url}/admin/services/Analysis/DataConversion.GPServer`
    assert.strictEqual((await form(`${control}/stop`, { token: admin })).status, "success")
    try {
      const refused = errorOf(await upload("analyst", shapefile, "late.zip"))
      assert.strictEqual(refused.code, 503)
      assert.include(refused.message, "stopped")
      const registered = errorOf(
        await form(`${service()}/uploads/register`, { itemName: "x.zip", token: await token("analyst") })
      )
      assert.strictEqual(registered.code, 503)
      const listed = (await form(`${server.url}/admin/uploads`, { token: admin }, "GET")) as {
        items: Array<{ itemName: string }>
      }
      assert.isFalse(
        listed.items.some((i) => i.itemName === "late.zip"),
        "the refused file is not kept"
      )
    } finally {
      await form(`${control}/start`, { token: admin })
    }
    assert.isTrue(((await upload("analyst", shapefile, "again.zip")) as unknown as ItemAnswer).success)
  })

  it("the retention sweep removes expired items", async () => {
    const at = service("Analysis/Shortlived")
    const answer = (await upload("analyst", shapefile, "short.zip", at)) as unknown as ItemAnswer
    const id = answer.item.itemID
    assert.isTrue(answer.success)
    // The engine sweeps every 100 ms; the item's retention is one second.
    for (;;) {
      const doc = await form(`${at}/uploads/${id}`, { token: await token("analyst") }, "GET")
      if (doc.error !== undefined) {
        assert.strictEqual(errorOf(doc).code, 404)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.isFalse(existsSync(join(server.dataDir, "uploads", id)))
  })
})
