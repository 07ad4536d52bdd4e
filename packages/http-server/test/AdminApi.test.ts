import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminJob, ErrorEnvelope, RestJob } from "@geojobs/core"
import { start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
let admin: string
const ids: Array<string> = []
const createdAt: Array<number> = []

const inject = async (method: "GET" | "POST", url: string, payload?: Record<string, string>) => {
  const response = await server.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
  return response.json() as Record<string, unknown>
}
const adminError = (body: Record<string, unknown>) => ErrorEnvelope.adminSchema.parse(body)
const jobs = "/arcgis/admin/services/System/Utilities.GPServer/jobs"

beforeAll(async () => {
  server = await start()
  admin = await server.token("admin")
  for (let i = 0; i < 12; i++) {
    createdAt.push(Date.now())
    const doc = RestJob.schema.parse(
      await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob", {
        input_string: String(i),
        f: "json"
      })
    )
    ids.push(doc.jobId)
    await new Promise((r) => setTimeout(r, 5))
  }
  // Let them finish.
  for (let i = 0; i < 100; i++) {
    const page = await inject("GET", `${jobs}/query?f=json&jobStatus=esriJobSucceeded&number=100&token=${admin}`)
    if (page.total === 12) break
    await new Promise((r) => setTimeout(r, 50))
  }
})
afterAll(async () => server.close())

describe("admin job API (the seed)", () => {
  it("GET …/jobs/<id> answers exactly the seed document", async () => {
    const id = ids[0] ?? ""
    const doc = await inject("GET", `${jobs}/${id}?f=pjson&token=${admin}`)
    assert.deepStrictEqual(Object.keys(doc), [
      "status_code",
      "job_id",
      "service_id",
      "job_created",
      "job_execution_start",
      "job_execution_end",
      "url",
      "revision",
      "status",
      "username"
    ])
    const seed = AdminJob.schema.parse(doc)
    assert.strictEqual(seed.job_id, id)
    assert.strictEqual(seed.status, "Succeeded")
    assert.strictEqual(seed.status_code, 4)
    assert.strictEqual(seed.url, `http://localhost:80/arcgis/rest/services/System/Utilities/GPServer/jobs/${id}`)
    assert.isNull(seed.username, "submitted anonymously")
    assert.closeTo(seed.job_created, Math.floor((createdAt[0] ?? 0) / 1000), 1)
    assert.match(seed.revision, /^\d+$/)
  })

  it("needs a token (499), and the Geoprocessing privilege or Publisher/Administrator role (403 for a viewer); users see their own jobs only", async () => {
    const id = ids[0] ?? ""
    assert.strictEqual(adminError(await inject("GET", `${jobs}/${id}?f=json`)).code, 499)
    assert.strictEqual(
      adminError(await inject("GET", `${jobs}/${id}?f=json&token=${await server.token("viewer")}`)).code,
      403
    )
    assert.strictEqual(
      AdminJob.schema.parse(await inject("GET", `${jobs}/${id}?f=json&token=${await server.token("publisher")}`))
        .job_id,
      id
    )
    // A user (Geoprocessing privilege) sees only their own jobs here; an anonymous job reads as missing.
    assert.strictEqual(
      adminError(await inject("GET", `${jobs}/${id}?f=json&token=${await server.token("analyst")}`)).code,
      404
    )
  })

  it("query pages with total, num, start and nextStart = -1 at the end, newest first", async () => {
    const first = await inject("GET", `${jobs}/query?f=json&token=${admin}`)
    assert.strictEqual(first.total, 12)
    assert.strictEqual(first.num, 10)
    assert.strictEqual(first.start, 1)
    assert.strictEqual(first.nextStart, 11)
    const results = (first.results as Array<unknown>).map((r) => AdminJob.schema.parse(r).job_id)
    assert.deepStrictEqual(results, [...ids].reverse().slice(0, 10))
    const second = await inject("GET", `${jobs}/query?f=json&start=11&token=${admin}`)
    assert.strictEqual(second.num, 2)
    assert.strictEqual(second.nextStart, -1)
    assert.deepStrictEqual((first.query as Record<string, unknown>).serviceName, "Utilities")
  })

  it("query filters by status, user and a time window given as ISO, seconds or milliseconds", async () => {
    const none = await inject("GET", `${jobs}/query?f=json&jobStatus=esriJobFailed&token=${admin}`)
    assert.strictEqual(none.total, 0)
    assert.strictEqual((await inject("GET", `${jobs}/query?f=json&userName=nobody&token=${admin}`)).total, 0)
    const from = createdAt[4] ?? 0
    const to = createdAt[7] ?? 0
    const ms = await inject("GET", `${jobs}/query?f=json&startTime=${from}&endTime=${to + 4}&token=${admin}`)
    assert.isAtLeast(ms.total as number, 3)
    assert.isAtMost(ms.total as number, 5)
    const secs = await inject(
      "GET",
      `${jobs}/query?f=json&startTime=${Math.floor(from / 1000) - 1}&endTime=${Math.ceil(to / 1000) + 1}&token=${admin}`
    )
    assert.isAtLeast(secs.total as number, ms.total as number)
    const iso = new Date(from - 2000).toISOString().slice(0, 19)
    const byIso = (await inject("GET", `${jobs}/query?f=json&startTime=${iso}&token=${admin}`)).total
    const byMs = (
      await inject("GET", `${jobs}/query?f=json&startTime=${Math.floor((from - 2000) / 1000) * 1000}&token=${admin}`)
    ).total
    assert.strictEqual(byIso, byMs)
    const bad = adminError(await inject("GET", `${jobs}/query?f=json&startTime=yesterday&token=${admin}`))
    assert.strictEqual(bad.code, 400)
    assert.match(bad.messages.join(" "), /startTime/)
    assert.strictEqual(
      adminError(await inject("GET", `${jobs}/query?f=json&jobStatus=esriJobDone&token=${admin}`)).code,
      400
    )
    assert.strictEqual(adminError(await inject("GET", `${jobs}/query?f=json&number=0&token=${admin}`)).code, 400)
    // An integer too big for the database (found by the fuzz test as a 500): refused by the query's own rules.
    const huge = adminError(await inject("GET", `${jobs}/query?f=json&start=1.601281652570222e%2B82&token=${admin}`))
    assert.strictEqual(huge.code, 400)
    assert.match(huge.messages.join(" "), /start/)
  })

  it("POST operations need the token in the body and the Administrator role; they answer the operation response", async () => {
    const sleep = RestJob.schema.parse(
      await inject("POST", "/arcgis/rest/services/System/Utilities/GPServer/Sleep/submitJob", {
        seconds: "60",
        f: "json"
      })
    )
    const url = `${jobs}/${sleep.jobId}`
    assert.strictEqual(
      adminError(await inject("POST", `${url}/cancel?f=json&token=${admin}`, {})).code,
      499,
      "token in the query string is not enough"
    )
    assert.strictEqual(
      adminError(await inject("POST", `${url}/cancel`, { f: "json", token: await server.token("publisher") })).code,
      403
    )
    assert.deepStrictEqual(await inject("POST", `${url}/cancel`, { f: "json", token: admin }), { status: "success" })
    assert.deepStrictEqual(await inject("POST", `${jobs}/${ids[11]}/delete`, { f: "json", token: admin }), {
      status: "success"
    })
    assert.strictEqual(adminError(await inject("GET", `${jobs}/${ids[11]}?f=json&token=${admin}`)).code, 404)
    const stats = await inject("POST", `${jobs}/statistics`, { f: "json", token: admin })
    assert.deepStrictEqual(Object.keys(stats), ["total", "cancelled", "failed", "succeeded"])
    assert.strictEqual(stats.succeeded, 11)
    assert.deepStrictEqual(await inject("POST", `${jobs}/purgeQueue`, { f: "json", token: admin }), {
      status: "success"
    })
  })

  it("cancelling a finished job: ArcGIS's code 500 envelope in JSON, a 409 page in HTML (never a server error page)", async () => {
    const finished = `${jobs}/${ids[10]}`
    const json = adminError(await inject("POST", `${finished}/cancel`, { f: "json", token: admin }))
    assert.strictEqual(json.code, 500)
    assert.match(json.messages.join(" "), /Unable to cancel job/)
    const page = await server.app.inject({
      method: "POST",
      url: `${finished}/cancel`,
      payload: new URLSearchParams({ f: "html", token: admin }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" }
    })
    assert.strictEqual(page.statusCode, 409)
    assert.include(page.body, "Unable to cancel job")
  })

  it("the jobs list is an HTML page by default and the query's JSON with f=json", async () => {
    const page = await server.app.inject({ method: "GET", url: `${jobs}?token=${admin}` })
    assert.match(String(page.headers["content-type"]), /text\/html/)
    assert.include(page.body, ids[10] ?? "")
    assert.property(await inject("GET", `${jobs}?f=json&token=${admin}`), "nextStart")
  })
})
