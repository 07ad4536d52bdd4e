import { hash } from "node:crypto"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope, RestJob } from "@geojobs/core"
import { SqliteDatabase } from "@geojobs/store-sqlite"
import { password, start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
beforeAll(async () => {
  server = await start()
})
afterAll(async () => server.close())

const base = "http://localhost:80/arcgis"
const inject = async (
  method: "GET" | "POST",
  url: string,
  payload?: Record<string, string>,
  headers: Record<string, string> = {}
) => {
  const response = await server.app.inject({ method, url, ...(payload === undefined ? {} : { payload }), headers })
  return {
    status: response.statusCode,
    type: String(response.headers["content-type"]),
    body: response.body,
    json: () => response.json() as Record<string, unknown>
  }
}
const errorOf = (body: Record<string, unknown>) => ErrorEnvelope.restSchema.parse(body).error

const waitFor = async (url: string, statuses: ReadonlyArray<string>, token?: string) => {
  for (let i = 0; i < 200; i++) {
    const doc = RestJob.schema.parse((await inject("GET", `${url}?f=json${token ? `&token=${token}` : ""}`)).json())
    if (statuses.includes(doc.jobStatus)) return doc
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`job at ${url} never reached ${statuses.join("/")}`)
}

describe("GP REST API: directory", () => {
  it("rest/info advertises token-based security and the token URL, and no owningSystemUrl", async () => {
    const info = (await inject("GET", "/arcgis/rest/info?f=json")).json()
    assert.strictEqual(info.currentVersion, 11.3)
    assert.deepStrictEqual(info.authInfo, {
      isTokenBasedSecurity: true,
      tokenServicesUrl: `${base}/tokens/`,
      shortLivedTokenValidity: 60
    })
    assert.notProperty(info, "owningSystemUrl")
  })

  it("the catalog lists folders and, per folder, the services a caller may see", async () => {
    const root = (await inject("GET", "/arcgis/rest/services?f=json")).json()
    assert.deepStrictEqual(root.folders, ["Analysis", "System"])
    assert.deepStrictEqual(root.services, [], "the restricted root service is hidden from anonymous callers")
    const withToken = (
      await inject("GET", `/arcgis/rest/services?f=json&token=${await server.token("publisher")}`)
    ).json()
    assert.deepStrictEqual(withToken.services, [{ name: "Private", type: "GPServer" }])
    const folder = (await inject("GET", "/arcgis/rest/services/System?f=json")).json()
    assert.deepStrictEqual(folder.services, [
      { name: "System/Utilities", type: "GPServer" },
      { name: "System/SyncTools", type: "GPServer" }
    ])
    const missing = await inject("GET", "/arcgis/rest/services/Nope?f=json")
    assert.strictEqual(missing.status, 200)
    assert.strictEqual(errorOf(missing.json()).code, 404)
  })

  it("the GPServer and task resources carry every key clients read", async () => {
    const svc = (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer?f=json")).json()
    assert.deepStrictEqual(Object.keys(svc).sort(), [
      "capabilities",
      "currentVersion",
      "executionType",
      "maximumRecords",
      "resultMapServerName",
      "serviceDescription",
      "tasks"
    ])
    assert.strictEqual(svc.resultMapServerName, "")
    assert.strictEqual(svc.executionType, "esriExecutionTypeAsynchronous")
    assert.deepStrictEqual(svc.tasks, ["Echo", "Sleep"])
    const task = (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Sleep?f=json")).json()
    const params = task.parameters as Array<Record<string, unknown>>
    for (const key of [
      "name",
      "dataType",
      "displayName",
      "description",
      "direction",
      "defaultValue",
      "parameterType",
      "category"
    ]) {
      assert.property(params[0], key)
    }
    assert.strictEqual(
      (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Nope?f=json")).json().error !== undefined,
      true
    )
  })

  it("f=html is the default (a readable page), pjson is pretty, callback gives JSONP", async () => {
    const html = await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer")
    assert.match(html.type, /text\/html/)
    assert.include(html.body, "Sleep")
    assert.include((await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Echo")).body, "Submit Job")
    assert.include((await inject("GET", "/arcgis/rest/info?f=pjson")).body, '\n  "currentVersion"')
    const jsonp = await inject("GET", "/arcgis/rest/info?f=json&callback=handle")
    assert.match(jsonp.body, /^handle\(\{.*\}\);$/s)
    assert.notInclude((await inject("GET", "/arcgis/rest/info?f=json&callback=alert(1)//")).body, "alert")
  })
})

describe("GP REST API: jobs", () => {
  it("submitJob → poll → Succeeded, with results, inputs, and the service-level alias", async () => {
    const submitted = await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob", {
      input_string: "Grüße",
      f: "json"
    })
    const doc = RestJob.schema.parse(submitted.json())
    assert.strictEqual(doc.jobStatus, "esriJobSubmitted")
    const url = `/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/${doc.jobId}`
    const done = await waitFor(url, ["esriJobSucceeded", "esriJobFailed"])
    assert.strictEqual(done.jobStatus, "esriJobSucceeded")
    assert.deepStrictEqual(done.results, { output_string: { paramUrl: "results/output_string" } })
    assert.deepStrictEqual((await inject("GET", `${url}/results/output_string?f=json`)).json(), {
      paramName: "output_string",
      dataType: "GPString",
      value: "Grüße"
    })
    assert.deepStrictEqual((await inject("GET", `${url}/inputs/input_string?f=json`)).json(), {
      paramName: "input_string",
      dataType: "GPString",
      value: "Grüße"
    })
    const all = JSON.parse((await inject("GET", `${url}/results?f=json`)).body) as Array<unknown>
    assert.lengthOf(all, 1)
    const alias = RestJob.schema.parse(
      (await inject("GET", `/arcgis/rest/services/System/Utilities/GPServer/jobs/${doc.jobId}?f=json`)).json()
    )
    assert.strictEqual(alias.jobStatus, "esriJobSucceeded")
    const noMessages = RestJob.schema.parse((await inject("GET", `${url}?f=json&returnMessages=false`)).json())
    assert.isUndefined(noMessages.messages)
    assert.include((await inject("GET", url)).body, "Result: output_string")
  })

  it("a job of another service or task reads as missing; an unknown job is 404", async () => {
    const doc = RestJob.schema.parse(
      (
        await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob", {
          input_string: "x",
          f: "json"
        })
      ).json()
    )
    const other = (
      await inject("GET", `/arcgis/rest/services/System/Utilities/GPServer/Sleep/jobs/${doc.jobId}?f=json`)
    ).json()
    assert.strictEqual(errorOf(other).code, 404)
    const unknown = (
      await inject(
        "GET",
        "/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/j00000000000000000000000000000000?f=json"
      )
    ).json()
    assert.strictEqual(errorOf(unknown).code, 404)
    const malformed = (
      await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/..%2F..%2Fetc?f=json")
    ).json()
    assert.isAtLeast(errorOf(malformed).code, 400)
  })

  it("a bad parameter value is 400 'Invalid or missing input parameters.' naming the parameter; nothing is stored", async () => {
    const before = (
      await inject(
        "GET",
        `/arcgis/admin/services/System/Utilities.GPServer/jobs/query?f=json&token=${await server.token("admin")}`
      )
    ).json().total
    const bad = await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Sleep/submitJob", {
      seconds: "forever",
      f: "json"
    })
    assert.strictEqual(bad.status, 200)
    const error = errorOf(bad.json())
    assert.strictEqual(error.code, 400)
    assert.strictEqual(error.message, "Invalid or missing input parameters.")
    assert.match(error.details[0] ?? "", /seconds/)
    const after = (
      await inject(
        "GET",
        `/arcgis/admin/services/System/Utilities.GPServer/jobs/query?f=json&token=${await server.token("admin")}`
      )
    ).json().total
    assert.strictEqual(after, before)
  })

  it("cancel stops a Sleep job: Cancelling, then Cancelled; cancelling it again is an error", async () => {
    const doc = RestJob.schema.parse(
      (
        await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Sleep/submitJob", {
          seconds: "30",
          f: "json"
        })
      ).json()
    )
    const url = `/arcgis/rest/services/System/Utilities/GPServer/Sleep/jobs/${doc.jobId}`
    await waitFor(url, ["esriJobExecuting"])
    const cancel = (await inject("POST", `${url}/cancel`, { f: "json", returnMessages: "false", id: doc.jobId })).json()
    assert.strictEqual(cancel.jobId, doc.jobId)
    assert.oneOf(cancel.jobStatus, ["esriJobCancelling", "esriJobCancelled"])
    assert.strictEqual((await waitFor(url, ["esriJobCancelled"])).jobStatus, "esriJobCancelled")
    assert.strictEqual(errorOf((await inject("POST", `${url}/cancel`, { f: "json" })).json()).code, 400)
  })

  it("execute runs synchronous services and answers results and messages; submitJob there is refused", async () => {
    const out = (
      await inject("POST", "/arcgis/rest/services/System/SyncTools/GPServer/Echo/execute", {
        input_string: "now",
        f: "json"
      })
    ).json()
    assert.deepStrictEqual(out.results, [{ paramName: "output_string", dataType: "GPString", value: "now" }])
    assert.isArray(out.messages)
    assert.strictEqual(
      errorOf(
        (
          await inject("POST", "/arcgis/rest/services/System/SyncTools/GPServer/Echo/submitJob", {
            input_string: "x",
            f: "json"
          })
        ).json()
      ).code,
      400
    )
    assert.strictEqual(
      errorOf(
        (
          await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Echo/execute", {
            input_string: "x",
            f: "json"
          })
        ).json()
      ).code,
      400
    )
  })

  it("f=html submit redirects to the job page", async () => {
    const response = await server.app.inject({
      method: "POST",
      url: "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob",
      payload: { input_string: "x", f: "html" }
    })
    assert.strictEqual(response.statusCode, 303)
    assert.match(String(response.headers.location), /\/GPServer\/Echo\/jobs\/j[0-9a-f]{32}$/)
  })
})

describe("GP REST API: access to restricted services", () => {
  it("anonymous → 499 Token Required; a role not listed → 403; a listed role → allowed, by field or either header", async () => {
    const url = "/arcgis/rest/services/Private/GPServer?f=json"
    const anonymous = errorOf((await inject("GET", url)).json())
    assert.strictEqual(anonymous.code, 499)
    assert.strictEqual(anonymous.message, "Token Required")
    assert.strictEqual(errorOf((await inject("GET", `${url}&token=${await server.token("analyst")}`)).json()).code, 403)
    const publisher = await server.token("publisher")
    assert.deepStrictEqual((await inject("GET", `${url}&token=${publisher}`)).json().tasks, ["Echo"])
    assert.deepStrictEqual(
      (await inject("GET", url, undefined, { "x-esri-authorization": `Bearer ${publisher}` })).json().tasks,
      ["Echo"]
    )
    assert.deepStrictEqual(
      (await inject("GET", url, undefined, { authorization: `Bearer ${publisher}` })).json().tasks,
      ["Echo"]
    )
  })

  it("an expired token is 498 over HTTP, and a fresh sign-in works again", async () => {
    const signIn = async () =>
      (
        await inject("POST", "/arcgis/tokens/generateToken", {
          username: "viewer",
          password,
          client: "requestip",
          f: "json"
        })
      ).json().token as string
    const token = await signIn()
    const path = "/arcgis/rest/services/System/Utilities/GPServer?f=json"
    assert.deepStrictEqual((await inject("GET", `${path}&token=${token}`)).json().tasks, ["Echo", "Sleep"])
    // Age the token in the security database itself, as time would.
    const db = SqliteDatabase.open({ filename: join(server.dataDir, "security.sqlite") }, [])
    const aged = db
      .prepare("UPDATE tokens SET expires = ? WHERE digest = ?")
      .run(Date.now() - 1000, hash("sha256", token, "hex"))
    db.close()
    assert.strictEqual(aged.changes, 1)
    const error = errorOf((await inject("GET", `${path}&token=${token}`)).json())
    assert.strictEqual(error.code, 498)
    assert.strictEqual(error.message, "Invalid token.")
    assert.deepStrictEqual((await inject("GET", `${path}&token=${await signIn()}`)).json().tasks, ["Echo", "Sleep"])
  })

  it("a forged token is 498 Invalid token., even on public resources", async () => {
    const error = errorOf(
      (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer?f=json&token=forged")).json()
    )
    assert.strictEqual(error.code, 498)
    assert.strictEqual(error.message, "Invalid token.")
  })
})

describe("HTTP edges", () => {
  it("an oversized body gets the envelope (413), not a crash; unknown paths get 404 envelopes", async () => {
    const big = await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob", {
      input_string: "x".repeat(300_000),
      f: "json"
    })
    assert.strictEqual(big.status, 200)
    assert.strictEqual(errorOf(big.json()).code, 413)
    assert.strictEqual(errorOf((await inject("GET", "/arcgis/rest/nothing?f=json")).json()).code, 404)
  })

  it("metrics and health", async () => {
    const metrics = await inject("GET", "/metrics")
    assert.include(metrics.body, "geojobs_jobs{status=")
    assert.include(metrics.body, "geojobs_queue_depth")
    assert.include(metrics.body, "geojobs_http_request_duration_seconds_bucket")
    assert.match(
      metrics.body,
      /geojobs_job_duration_seconds_count\{service="System\/Utilities",task="Echo",status="Succeeded"\} [1-9]/
    )
    assert.deepStrictEqual((await inject("GET", "/health")).json(), { status: "ok" })
  })
})

describe("GP REST API: results as clients ask for them", () => {
  const run = async (task: string, fields: Record<string, string>) => {
    const doc = RestJob.schema.parse(
      (
        await inject("POST", `/arcgis/rest/services/Analysis/Geometry/GPServer/${task}/submitJob`, {
          ...fields,
          f: "json"
        })
      ).json()
    )
    const url = `/arcgis/rest/services/Analysis/Geometry/GPServer/${task}/jobs/${doc.jobId}`
    assert.strictEqual((await waitFor(url, ["esriJobSucceeded", "esriJobFailed"])).jobStatus, "esriJobSucceeded")
    return url
  }

  it("feature results in another spatial reference (outSR) and as GeoJSON (f=geojson)", async () => {
    const url = await run("Buffer", {
      Input_Features: JSON.stringify({
        geometryType: "esriGeometryPoint",
        spatialReference: { wkid: 4326 },
        features: [{ geometry: { x: 13.4, y: 52.5 }, attributes: {} }]
      }),
      Distance: '{"distance":1,"units":"esriKilometers"}'
    })
    const plain = (await inject("GET", `${url}/results/Output_Features?f=json`)).json() as {
      value: { spatialReference: unknown }
    }
    assert.deepStrictEqual(plain.value.spatialReference, { wkid: 4326, latestWkid: 4326 })
    const mercator = (await inject("GET", `${url}/results/Output_Features?f=json&outSR=102100`)).json() as {
      value: { spatialReference: unknown; features: Array<{ geometry: { rings: Array<Array<[number, number]>> } }> }
    }
    assert.deepStrictEqual(mercator.value.spatialReference, { wkid: 102100, latestWkid: 3857 })
    assert.isAbove(mercator.value.features[0]?.geometry.rings[0]?.[0]?.[0] ?? 0, 1_000_000)
    const geojson = await inject("GET", `${url}/results/Output_Features?f=geojson`)
    assert.match(geojson.type, /application\/geo\+json/)
    const collection = JSON.parse(geojson.body) as { type: string; features: Array<{ geometry: { type: string } }> }
    assert.strictEqual(collection.type, "FeatureCollection")
    assert.strictEqual(collection.features[0]?.geometry.type, "Polygon")
    assert.strictEqual(
      errorOf((await inject("GET", `${url}/results/Output_Features?f=json&outSR=99999`)).json()).code,
      400
    )
  })

  it("an output file is answered as a URL under rest/directories/arcgisjobs and served; no path escapes the job's folder", async () => {
    const url = await run("Report", { title: "Q4" })
    const result = (await inject("GET", `${url}/results/report?f=json`)).json() as { value: { url: string } }
    const fileUrl = new URL(result.value.url)
    assert.match(
      fileUrl.pathname,
      /^\/arcgis\/rest\/directories\/arcgisjobs\/geometry_gpserver\/j[0-9a-f]{32}\/scratch\/report\.txt$/
    )
    const file = await inject("GET", fileUrl.pathname)
    assert.strictEqual(file.status, 200)
    assert.strictEqual(file.body, "Report: Q4\n")
    const jobPath = fileUrl.pathname.replace(/\/scratch\/report\.txt$/, "")
    for (const attempt of [
      "/scratch/..%2F..%2Fjobs.sqlite",
      "/scratch/../../jobs.sqlite",
      "/scratch/%2e%2e/report.txt",
      "/scratch/nothing.txt"
    ]) {
      const response = await inject("GET", `${jobPath}${attempt}?f=json`)
      assert.notStrictEqual(response.body, "Report: Q4\n")
      assert.notInclude(response.body, "SQLite format")
    }
  })

  it("an output file is not served under another service's segment, nor for a job of a service the caller cannot use", async () => {
    const url = await run("Report", { title: "Q5" })
    const result = (await inject("GET", `${url}/results/report?f=json`)).json() as { value: { url: string } }
    const path = new URL(result.value.url).pathname
    assert.strictEqual((await inject("GET", path)).status, 200)
    const elsewhere = path.replace("/geometry_gpserver/", "/utilities_gpserver/")
    const response = await inject("GET", `${elsewhere}?f=json`)
    assert.notStrictEqual(response.body, "Report: Q5\n")
    assert.strictEqual(errorOf(response.json()).code, 404)
  })

  it("a malformed path is 400 naming its part, a path that is no location 404, each in its area's envelope", async () => {
    const undecodable = errorOf(
      (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/%zz?f=json")).json()
    )
    assert.strictEqual(undecodable.code, 400)
    assert.include(undecodable.details.join(" "), "cannot be decoded")
    const bad = errorOf(
      (await inject("GET", "/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/x1?f=json")).json()
    )
    assert.strictEqual(bad.code, 400)
    assert.include(bad.details.join(" "), "jobId")
    const empty = errorOf((await inject("GET", "/arcgis/rest/services/System//GPServer?f=json")).json())
    assert.strictEqual(empty.code, 400)
    const nowhere = errorOf((await inject("GET", "/arcgis/rest/nowhere?f=json")).json())
    assert.strictEqual(nowhere.code, 404)
    const admin = (await inject("GET", "/arcgis/admin/services/System/Utilities.MapServer/jobs?f=json")).json()
    assert.deepStrictEqual(ErrorEnvelope.adminSchema.parse(admin).code, 404)
  })
})
