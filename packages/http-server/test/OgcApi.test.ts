// OGC API – Processes 1.0 end to end over a real port: every OGC JSON document the server renders here is checked
// against the official 1.0.0 schemas (support/OgcSchemas.ts). Execute sync raw and document, async with 201 and
// Location, polling to successful, results, result-not-ready, dismiss of a running Sleep, the job list's filters and
// paging, exceptions, content negotiation, and the same jobs seen by both dialects.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminJob, OgcException, OgcLink, type OgcStatusInfo, RestJob } from "@geojobs/core"
import { Engine } from "@geojobs/engine"
import { Effect } from "effect"
import { checked, type SchemaName, validate, validateOpenApi } from "./support/OgcSchemas.ts"
import { type PortServer, start } from "./support/PortServer.ts"

let server: PortServer
let root = ""
let origin = ""

beforeAll(async () => {
  server = await start()
  origin = `http://127.0.0.1:${server.port}`
  root = `${origin}/ogcapi`
})
afterAll(async () => server.close())

const bearer = async (user: string | undefined): Promise<Record<string, string>> =>
  user === undefined ? {} : { authorization: `Bearer ${await server.token(user)}` }

const get = async (path: string, options: { user?: string | undefined; accept?: string | undefined } = {}) =>
  fetch(path.startsWith("http") ? path : `${root}${path}`, {
    headers: { ...(await bearer(options.user)), ...(options.accept === undefined ? {} : { accept: options.accept }) }
  })

/** GETs a JSON document, checks its status and its schema. */
const doc = async <T = Record<string, unknown>>(
  path: string,
  schema: SchemaName,
  options: { user?: string | undefined; status?: number } = {}
): Promise<T> => {
  const response = await get(path, options)
  const body = await response.json()
  assert.strictEqual(response.status, options.status ?? 200, `${path}: ${JSON.stringify(body).slice(0, 300)}`)
  validate(schema, body)
  return body as T
}

const execute = async (
  processId: string,
  body: unknown,
  options: { user?: string | undefined; prefer?: string | undefined; type?: string | undefined } = {}
) =>
  fetch(`${root}/processes/${processId}/execution`, {
    method: "POST",
    headers: {
      "content-type": options.type ?? "application/json",
      ...(options.prefer === undefined ? {} : { prefer: options.prefer }),
      ...(await bearer(options.user))
    },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const exception = async (response: Response, status: number, type?: string) => {
  const body = (await response.json()) as OgcException.OgcException
  assert.strictEqual(response.status, status, JSON.stringify(body))
  validate("exception", body)
  assert.strictEqual(body.status, status)
  if (type !== undefined) assert.strictEqual(body.type, type)
  return body
}

const poll = async (location: string, user: string | undefined, until: (s: OgcStatusInfo.OgcStatusInfo) => boolean) => {
  for (let i = 0; i < 400; i++) {
    const status = await doc<OgcStatusInfo.OgcStatusInfo>(location, "statusInfo", { user })
    if (until(status)) return status
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`${location} never got there`)
}

// A process description, read loosely: the schema check above is the strict one.
// biome-ignore lint/suspicious/noExplicitAny: nested JSON Schema objects, asserted on field by field
type Description = Record<string, any>

const point = { type: "Point", coordinates: [13.4, 52.5] }
const features = {
  type: "FeatureCollection",
  features: [{ type: "Feature", geometry: point, properties: { name: "a" } }]
}

describe("OGC API – Processes: capabilities", () => {
  it("landing page: links to itself, the API definition and docs, conformance, processes and jobs", async () => {
    for (const path of ["", "/"]) {
      const landing = await doc<{ links: Array<OgcLink.OgcLink> }>(path, "landingPage")
      const rel = (r: string) => landing.links.find((l) => l.rel === r)
      assert.strictEqual(rel("service-desc")?.type, "application/vnd.oai.openapi+json;version=3.0")
      assert.strictEqual(rel("service-doc")?.type, "text/html")
      assert.strictEqual(rel(OgcLink.rels.conformance)?.href, `${root}/conformance`)
      assert.strictEqual(rel(OgcLink.rels.processes)?.href, `${root}/processes`)
      assert.strictEqual(rel(OgcLink.rels.jobList)?.href, `${root}/jobs`)
      assert.strictEqual(rel("self")?.href, `${root}/`)
    }
  })

  it("conformance declares core, process description, json, html, oas30, job-list, dismiss and callback", async () => {
    const conformance = await doc<{ conformsTo: Array<string> }>("/conformance", "confClasses")
    for (const c of ["core", "ogc-process-description", "json", "html", "oas30", "job-list", "dismiss", "callback"]) {
      assert.include(conformance.conformsTo, `http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/${c}`)
    }
  })

  it("the API definition is OpenAPI 3.0 with the exact media type, generated from the wire schemas", async () => {
    const response = await get("/api")
    assert.strictEqual(response.headers.get("content-type"), "application/vnd.oai.openapi+json;version=3.0")
    const api = (await response.json()) as {
      openapi: string
      paths: Record<string, Record<string, unknown>>
      components: { schemas: Record<string, Record<string, unknown>> }
    }
    assert.match(api.openapi, /^3\.0\.\d$/)
    validateOpenApi(api)
    for (const path of [
      "/",
      "/conformance",
      "/api",
      "/processes",
      "/processes/{processID}",
      "/jobs",
      "/jobs/{jobID}"
    ]) {
      assert.isDefined(api.paths[path]?.get, path)
    }
    assert.isDefined(api.paths["/processes/{processID}/execution"]?.post)
    assert.isDefined(api.paths["/jobs/{jobID}"]?.delete)
    const statusInfo = api.components.schemas.statusInfo as {
      properties: Record<string, unknown>
      required: Array<string>
    }
    assert.includeMembers(statusInfo.required, ["jobID", "status", "type"])
    assert.deepStrictEqual(statusInfo.properties.type, { type: "string", enum: ["process"] })
    // OpenAPI 3.0 schema objects: no JSON Schema 2019+ keywords.
    const text = JSON.stringify(api)
    for (const keyword of ['"$id"', '"$schema"', '"const"', '"$defs"', '"propertyNames"'])
      assert.notInclude(text, keyword)
    const page = await get("/api?f=html")
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
    assert.include(await page.text(), "/processes/{processID}/execution")
  })
})

describe("OGC API – Processes: processes", () => {
  it("lists every task of every service the caller may use, with stable ids, paged by limit", async () => {
    const anonymous = await doc<{ processes: Array<{ id: string }> }>("/processes", "processList")
    const ids = anonymous.processes.map((p) => p.id)
    assert.includeMembers(ids, [
      "System.Utilities.Echo",
      "System.Utilities.Sleep",
      "System.SyncTools.Echo",
      "Analysis.Geometry.Buffer",
      "Analysis.Geometry.Report"
    ])
    assert.notInclude(ids, "Private.Echo")
    const publisher = await doc<{ processes: Array<{ id: string }> }>("/processes", "processList", {
      user: "publisher"
    })
    assert.include(
      publisher.processes.map((p) => p.id),
      "Private.Echo"
    )
    const page = await doc<{ processes: Array<{ id: string }>; links: Array<OgcLink.OgcLink> }>(
      "/processes?limit=2",
      "processList"
    )
    assert.strictEqual(page.processes.length, 2)
    const next = page.links.find((l) => l.rel === "next")?.href ?? ""
    const second = await doc<{ processes: Array<{ id: string }> }>(next, "processList")
    assert.deepStrictEqual(
      second.processes.map((p) => p.id),
      ids.slice(2, 4)
    )
  })

  it("describes inputs and outputs as OpenAPI schemas from the GP types", async () => {
    const buffer = await doc<Description>("/processes/Analysis.Geometry.Buffer", "process")
    assert.deepStrictEqual(buffer.jobControlOptions, ["async-execute", "dismiss"])
    assert.deepStrictEqual(buffer.outputTransmission, ["value", "reference"])
    assert.strictEqual(buffer.version, "1.0.0")
    assert.strictEqual(buffer.inputs.Distance.schema.type, "object")
    assert.include(buffer.inputs.Distance.schema.properties.units.enum, "esriKilometers")
    assert.strictEqual(buffer.inputs.Dissolve.schema.default, false)
    assert.strictEqual(buffer.inputs.Dissolve.minOccurs, 0)
    assert.strictEqual(buffer.inputs.Input_Features.schema.oneOf[0].contentMediaType, "application/geo+json")
    assert.strictEqual(buffer.outputs.Output_Features.schema.contentMediaType, "application/geo+json")
    const sleep = await doc<Description>("/processes/System.Utilities.Sleep", "process")
    assert.deepInclude(sleep.inputs.seconds.schema, { type: "number", minimum: 0, maximum: 3600 })
    assert.strictEqual(sleep.inputs.seconds.description, "How long to wait.")
    const sync = await doc<Description>("/processes/System.SyncTools.Echo", "process")
    assert.deepStrictEqual(sync.jobControlOptions, ["sync-execute", "dismiss"])
  })

  it("no such process is a 404 no-such-process; a secured one 401 without a token, 403 for a role without access", async () => {
    await exception(await get("/processes/Nope.Echo"), 404, OgcException.types.noSuchProcess)
    await exception(await get("/processes/not-an-id"), 404, OgcException.types.noSuchProcess)
    const anonymous = await get("/processes/Private.Echo")
    assert.strictEqual(anonymous.headers.get("www-authenticate"), 'Bearer realm="GeoJobs"')
    await exception(anonymous, 401, OgcException.types.unauthorized)
    await exception(await get("/processes/Private.Echo", { user: "viewer" }), 403, OgcException.types.forbidden)
    await doc("/processes/Private.Echo", "process", { user: "publisher" })
  })
})

describe("OGC API – Processes: execute", () => {
  it("synchronous raw (the default): the bare value in its media type", async () => {
    const response = await execute("System.SyncTools.Echo", { inputs: { input_string: "hello" } })
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/)
    assert.strictEqual(await response.text(), "hello")
    // Prefer: respond-async on a synchronous-only process: still synchronous, and not said to be applied.
    const preferred = await execute(
      "System.SyncTools.Echo",
      { inputs: { input_string: "x" } },
      { prefer: "respond-async" }
    )
    assert.strictEqual(preferred.status, 200)
    assert.isNull(preferred.headers.get("preference-applied"))
  })

  it("synchronous document: the results document; a qualified input value is read as its value", async () => {
    const response = await execute("System.SyncTools.Echo", {
      inputs: { input_string: { value: "test", mediaType: "text/plain" } },
      response: "document"
    })
    assert.strictEqual(response.status, 200)
    const results = await response.json()
    validate("results", results)
    assert.deepStrictEqual(results, { output_string: "test" })
    const byReference = await execute("System.SyncTools.Echo", {
      inputs: { input_string: "r" },
      outputs: { output_string: { transmissionMode: "reference" } },
      response: "document"
    })
    const linked = (await byReference.json()) as { output_string: OgcLink.OgcLink }
    validate("results", linked)
    const value = await fetch(linked.output_string.href)
    assert.strictEqual(((await value.json()) as { value: string }).value, "r")
  })

  it("asynchronous: 201 Created, Location, statusInfo; polled to successful; GeoJSON results; both dialects", async () => {
    const response = await execute(
      "Analysis.Geometry.Buffer",
      { inputs: { Input_Features: features, Distance: { distance: 1, units: "esriKilometers" } } },
      { prefer: "respond-async", user: "analyst" }
    )
    assert.strictEqual(response.status, 201)
    assert.strictEqual(response.headers.get("preference-applied"), "respond-async")
    const created = (await response.json()) as OgcStatusInfo.OgcStatusInfo
    validate("statusInfo", created)
    const location = response.headers.get("location") ?? ""
    assert.strictEqual(location, `${root}/jobs/${created.jobID}`)
    assert.strictEqual(created.processID, "Analysis.Geometry.Buffer")
    const done = await poll(location, "analyst", (s) => s.status === "successful" || s.status === "failed")
    assert.strictEqual(done.status, "successful")
    assert.strictEqual(done.progress, 100)
    for (const time of [done.created, done.started, done.finished, done.updated]) assert.match(time ?? "", /Z$/)
    const resultsLink = done.links?.find((l) => l.rel === "http://www.opengis.net/def/rel/ogc/1.0/results")
    assert.strictEqual(resultsLink?.href, `${location}/results`)
    const results = await doc<{
      Output_Features: { value: { type: string; features: Array<unknown> }; mediaType: string }
    }>(`${location}/results`, "results", { user: "analyst" })
    assert.strictEqual(results.Output_Features.mediaType, "application/geo+json")
    assert.strictEqual(results.Output_Features.value.type, "FeatureCollection")
    assert.lengthOf(results.Output_Features.value.features, 1)
    // The same job through the ArcGIS REST API and the admin API (the seed document).
    const rest = await fetch(
      `${server.url}/rest/services/Analysis/Geometry/GPServer/Buffer/jobs/${created.jobID}?f=json`,
      { headers: await bearer("analyst") }
    )
    assert.strictEqual(RestJob.schema.parse(await rest.json()).jobStatus, "esriJobSucceeded")
    const admin = await fetch(
      `${server.url}/admin/services/Analysis/Geometry.GPServer/jobs/${created.jobID}?f=json&token=${await server.token("admin")}`
    )
    const seed = AdminJob.schema.parse(await admin.json())
    assert.strictEqual(seed.job_id, created.jobID)
    assert.strictEqual(seed.username, "analyst")
    // Another user may not see it: the same answer as an unknown job.
    await exception(await get(location, { user: "viewer" }), 404, OgcException.types.noSuchJob)
  })

  it("an ArcGIS-submitted job is an OGC job too", async () => {
    const submitted = await fetch(`${server.url}/rest/services/System/Utilities/GPServer/Echo/submitJob`, {
      method: "POST",
      headers: await bearer("analyst"),
      body: new URLSearchParams({ input_string: "from arcgis", f: "json" })
    })
    const { jobId } = RestJob.schema.parse(await submitted.json())
    const done = await poll(`/jobs/${jobId}`, "analyst", (s) => s.status === "successful")
    assert.strictEqual(done.processID, "System.Utilities.Echo")
    const results = await doc<{ output_string: string }>(`/jobs/${jobId}/results`, "results", { user: "analyst" })
    assert.strictEqual(results.output_string, "from arcgis")
    const list = await doc<{ jobs: Array<{ jobID: string }> }>("/jobs?limit=100", "jobList", { user: "analyst" })
    assert.include(
      list.jobs.map((j) => j.jobID),
      jobId
    )
  })

  it("bad input is a 400 exception naming the input; unknown inputs and outputs too; JSON only", async () => {
    const bad = await exception(
      await execute("System.Utilities.Sleep", { inputs: { seconds: "soon" } }),
      400,
      OgcException.types.invalidParameter
    )
    assert.strictEqual(bad.input, "seconds")
    assert.include(bad.detail, "seconds")
    const unknown = await exception(await execute("System.Utilities.Sleep", { inputs: { minutes: 1 } }), 400)
    assert.strictEqual(unknown.parameter, "minutes")
    await exception(
      await execute("System.Utilities.Sleep", { inputs: { seconds: 0 }, outputs: { nothing: {} } }),
      400,
      OgcException.types.invalidParameter
    )
    await exception(await execute("System.Utilities.Sleep", { inputs: { seconds: { href: "http://x/y" } } }), 400)
    await exception(await execute("System.Utilities.Sleep", { response: "everything" }), 400)
    await exception(
      await execute("System.Utilities.Sleep", "seconds=1", { type: "application/x-www-form-urlencoded" }),
      415
    )
    await exception(await execute("System.Utilities.Sleep", "{not json"), 400)
    await exception(await execute("Nope.Sleep", {}), 404, OgcException.types.noSuchProcess)
    const wrongMethod = await get("/processes/System.Utilities.Sleep/execution")
    assert.strictEqual(wrongMethod.headers.get("allow"), "POST")
    await exception(wrongMethod, 405)
  })
})

describe("OGC API – Processes: jobs", () => {
  it("results before success are result-not-ready (404); dismiss cancels a running Sleep and the job is gone", async () => {
    const response = await execute("System.Utilities.Sleep", { inputs: { seconds: 30 } }, { user: "analyst" })
    const location = response.headers.get("location") ?? ""
    const { jobID } = (await response.json()) as OgcStatusInfo.OgcStatusInfo
    await poll(location, "analyst", (s) => s.status === "running")
    await exception(await get(`${location}/results`, { user: "analyst" }), 404, OgcException.types.resultNotReady)
    const running = () => server.runtime.runPromise(Effect.map(Engine.Engine, (e) => e.runningHere()))
    assert.isAtLeast(await running(), 1)
    // A reader who may not dismiss it: another user sees nothing.
    await exception(
      await fetch(location, { method: "DELETE", headers: await bearer("viewer") }),
      404,
      OgcException.types.noSuchJob
    )
    const dismissed = await fetch(location, { method: "DELETE", headers: await bearer("analyst") })
    assert.strictEqual(dismissed.status, 200)
    const info = (await dismissed.json()) as OgcStatusInfo.OgcStatusInfo
    validate("statusInfo", info)
    assert.strictEqual(info.status, "dismissed")
    // The tool saw the abort: nothing runs any more, long before its 30 seconds.
    for (let i = 0; i < 200 && (await running()) > 0; i++) await new Promise((r) => setTimeout(r, 25))
    assert.strictEqual(await running(), 0)
    await exception(await get(location, { user: "analyst" }), 404, OgcException.types.noSuchJob)
    const rest = await fetch(`${server.url}/rest/services/System/Utilities/GPServer/jobs/${jobID}?f=json`, {
      headers: await bearer("analyst")
    })
    assert.strictEqual(((await rest.json()) as { error: { code: number } }).error.code, 404)
  })

  it("the job list: filters, limit exact, next and prev links, only what the caller may see", async () => {
    const ids: Array<string> = []
    for (const text of ["one", "two", "three"]) {
      const r = await execute("System.Utilities.Echo", { inputs: { input_string: text } }, { user: "viewer" })
      const location = r.headers.get("location") ?? ""
      await poll(location, "viewer", (s) => s.status === "successful")
      ids.push(location.split("/").at(-1) ?? "")
    }
    const all = await doc<{ jobs: Array<OgcStatusInfo.OgcStatusInfo> }>("/jobs?limit=100", "jobList", {
      user: "viewer"
    })
    assert.sameMembers(
      all.jobs.map((j) => j.jobID),
      ids
    )
    const first = await doc<{ jobs: Array<OgcStatusInfo.OgcStatusInfo>; links: Array<OgcLink.OgcLink> }>(
      "/jobs?limit=2",
      "jobList",
      { user: "viewer" }
    )
    assert.lengthOf(first.jobs, 2)
    assert.isUndefined(first.links.find((l) => l.rel === "prev"))
    const next = first.links.find((l) => l.rel === "next")?.href ?? ""
    assert.include(next, "limit=2")
    const second = await doc<{ jobs: Array<OgcStatusInfo.OgcStatusInfo>; links: Array<OgcLink.OgcLink> }>(
      next,
      "jobList",
      {
        user: "viewer"
      }
    )
    assert.lengthOf(second.jobs, 1)
    assert.isUndefined(second.links.find((l) => l.rel === "next"))
    assert.isDefined(second.links.find((l) => l.rel === "prev"))
    assert.sameMembers(
      [...first.jobs, ...second.jobs].map((j) => j.jobID),
      ids
    )
    const count = async (query: string, user = "viewer") =>
      (await doc<{ jobs: Array<unknown> }>(`/jobs?${query}`, "jobList", { user })).jobs.length
    assert.strictEqual(await count("processID=System.Utilities.Echo&limit=100"), 3)
    assert.strictEqual(await count("processID=System.Utilities.Sleep"), 0)
    assert.strictEqual(await count("status=successful&limit=100"), 3)
    assert.strictEqual(await count("status=running,failed"), 0)
    assert.strictEqual(await count("type=process&limit=100"), 3)
    assert.strictEqual(await count("datetime=2000-01-01T00:00:00Z/..&limit=100"), 3)
    assert.strictEqual(await count("datetime=../2000-01-01T00:00:00Z"), 0)
    assert.strictEqual(await count("minDuration=3600"), 0)
    assert.strictEqual(await count("maxDuration=3600&limit=100"), 3)
    // Others see none of them; an administrator sees them all; anonymous callers list nothing.
    const analyst = await doc<{ jobs: Array<OgcStatusInfo.OgcStatusInfo> }>("/jobs?limit=1000", "jobList", {
      user: "analyst"
    })
    for (const id of ids)
      assert.notInclude(
        analyst.jobs.map((j) => j.jobID),
        id
      )
    const admin = await doc<{ jobs: Array<OgcStatusInfo.OgcStatusInfo> }>("/jobs?limit=1000", "jobList", {
      user: "admin"
    })
    assert.includeMembers(
      admin.jobs.map((j) => j.jobID),
      ids
    )
    const anonymous = await doc<{ jobs: Array<unknown> }>("/jobs?limit=100", "jobList")
    assert.lengthOf(anonymous.jobs, 0)
    await exception(await get("/jobs?status=done", { user: "viewer" }), 400, OgcException.types.invalidParameter)
    await exception(await get("/jobs?limit=0", { user: "viewer" }), 400)
    await exception(await get("/jobs?limit=10001", { user: "viewer" }), 400)
    await exception(await get("/jobs?datetime=yesterday", { user: "viewer" }), 400)
  })

  it("unknown and malformed job ids are no-such-job", async () => {
    await exception(await get("/jobs/j00000000000000000000000000000000"), 404, OgcException.types.noSuchJob)
    await exception(await get("/jobs/123e4567-e89b-12d3-a456-426614174000"), 404, OgcException.types.noSuchJob)
    await exception(await get("/jobs/j00000000000000000000000000000000/results"), 404, OgcException.types.noSuchJob)
    await exception(await get("/nowhere"), 404, OgcException.types.notFound)
    await exception(
      await get("/jobs", { user: undefined, accept: "application/json" }).then(() => get("/jobs?f=xml")),
      400
    )
  })
})

describe("OGC API – Processes: JSON and HTML", () => {
  it("f=html and Accept negotiate HTML for every resource; */* and no Accept get JSON", async () => {
    const r = await execute("System.Utilities.Echo", { inputs: { input_string: "page" } }, { user: "analyst" })
    const location = r.headers.get("location") ?? ""
    await poll(location, "analyst", (s) => s.status === "successful")
    const paths = [
      "/",
      "/conformance",
      "/api",
      "/processes",
      "/processes/System.Utilities.Echo",
      "/jobs",
      location,
      `${location}/results`
    ]
    for (const path of paths) {
      const viaF = await get(`${path}${path.includes("?") ? "&" : "?"}f=html`, { user: "analyst" })
      assert.strictEqual(viaF.status, 200, path)
      assert.match(viaF.headers.get("content-type") ?? "", /^text\/html/, path)
      assert.match(await viaF.text(), /^<!doctype html>/, path)
      const browser = await get(path, { user: "analyst", accept: "text/html,application/xhtml+xml,*/*;q=0.8" })
      assert.match(browser.headers.get("content-type") ?? "", /^text\/html/, path)
      for (const accept of ["*/*", "application/json", undefined]) {
        const machine = await get(path, { user: "analyst", ...(accept === undefined ? {} : { accept }) })
        assert.match(machine.headers.get("content-type") ?? "", /json/, `${path} ${accept}`)
      }
    }
    const error = await get("/processes/Nope.Echo?f=html")
    assert.strictEqual(error.status, 404)
    assert.match(error.headers.get("content-type") ?? "", /^text\/html/)
  })

  it("the services directory links to the OGC API", async () => {
    const page = await (await fetch(`${server.url}/rest/services?f=html`)).text()
    assert.include(page, `${root}/`)
  })

  it("every kind of OGC document was checked against the official schemas", () => {
    for (const name of [
      "landingPage",
      "confClasses",
      "processList",
      "process",
      "statusInfo",
      "jobList",
      "results",
      "exception"
    ] as const) {
      assert.isAtLeast(checked.get(name) ?? 0, 1, name)
    }
  })
})
