// Job ownership (Security's rules) over every route that reads or acts on one job, and the admin listing: a
// signed-in user's job is seen by its owner, job viewers (publisher) and administrators; cancelled by its owner and
// administrators; everyone else gets exactly the answer of an id that does not exist. Anonymous jobs keep ArcGIS's
// model (the id is the capability) but are listed to administrators and job viewers only.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminJob, ErrorEnvelope, RestJob } from "@geojobs/core"
import { start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
const tokens: Record<string, string> = {}
const callers = ["anonymous", "analyst", "colleague", "viewer", "publisher", "admin"] as const
type Caller = (typeof callers)[number]

const rest = "/arcgis/rest/services/Analysis/Geometry/GPServer"
const admin = "/arcgis/admin/services/Analysis/Geometry.GPServer/jobs"
const unknownId = `j${"0".repeat(32)}`

const get = async (url: string, caller: Caller) => {
  const sep = url.includes("?") ? "&" : "?"
  const token = caller === "anonymous" ? "" : `&token=${tokens[caller]}`
  const response = await server.app.inject({ method: "GET", url: `${url}${sep}f=json${token}` })
  return { status: response.statusCode, body: response.body }
}
const post = async (url: string, caller: Caller) => {
  const payload: Record<string, string> = { f: "json" }
  if (caller !== "anonymous") payload.token = tokens[caller] ?? ""
  const response = await server.app.inject({ method: "POST", url, payload })
  return response.json() as Record<string, unknown>
}
// The REST envelope (`{error: {code}}`) or the admin one (`{status: "error", code}`).
const code = (body: string) => {
  const doc = JSON.parse(body) as { error?: unknown }
  return doc.error === undefined
    ? ErrorEnvelope.adminSchema.parse(doc).code
    : ErrorEnvelope.restSchema.parse(doc).error.code
}

const submitReport = async (caller: Caller) => {
  const payload: Record<string, string> = { title: `by ${caller}`, f: "json" }
  if (caller !== "anonymous") payload.token = tokens[caller] ?? ""
  const response = await server.app.inject({ method: "POST", url: `${rest}/Report/submitJob`, payload })
  const id = RestJob.schema.parse(response.json()).jobId
  for (let i = 0; i < 200; i++) {
    const doc = RestJob.schema.parse(JSON.parse((await get(`${rest}/jobs/${id}`, "admin")).body))
    if (doc.jobStatus === "esriJobSucceeded") return id
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`job ${id} did not finish`)
}

// Every per-job read, with `{id}` standing for the job id.
const reads = [
  `${rest}/jobs/{id}`,
  `${rest}/Report/jobs/{id}`,
  `${rest}/jobs/{id}/results`,
  `${rest}/jobs/{id}/results/report`,
  `${rest}/jobs/{id}/inputs`,
  `${rest}/jobs/{id}/inputs/title`,
  "/arcgis/rest/directories/arcgisjobs/geometry_gpserver/{id}/scratch/report.txt"
]

let analystJob = ""
let anonymousJob = ""

beforeAll(async () => {
  server = await start()
  for (const c of callers) if (c !== "anonymous") tokens[c] = await server.token(c)
  analystJob = await submitReport("analyst")
  anonymousJob = await submitReport("anonymous")
})
afterAll(async () => server.close())

describe("job ownership", () => {
  const mayRead: Record<Caller, boolean> = {
    anonymous: false,
    analyst: true,
    colleague: false,
    viewer: false,
    publisher: true,
    admin: true
  }

  for (const caller of callers) {
    it(`${caller} ${mayRead[caller] ? "reads" : "cannot tell apart from a missing job"} a user's job, on every read route`, async () => {
      for (const route of reads) {
        const answer = await get(route.replace("{id}", analystJob), caller)
        if (mayRead[caller]) {
          assert.strictEqual(answer.status, 200, `${route} for ${caller}`)
          assert.include(answer.body, route.includes("scratch") ? "Report: by analyst" : "", route)
        } else {
          const missing = await get(route.replace("{id}", unknownId), caller)
          assert.strictEqual(code(answer.body), 404, `${route} for ${caller}`)
          // Byte for byte the answer of an unknown id, with the id itself swapped.
          assert.strictEqual(answer.body.replaceAll(analystJob, unknownId), missing.body, `${route} for ${caller}`)
          assert.notInclude(answer.body, "by analyst")
        }
      }
    })
  }

  for (const caller of callers) {
    it(`${caller} reads an anonymous job by its id (the id is the capability)`, async () => {
      for (const route of reads) {
        const answer = await get(route.replace("{id}", anonymousJob), caller)
        assert.strictEqual(answer.status, 200, `${route} for ${caller}`)
      }
    })
  }

  it("only the owner and administrators cancel a user's job; others get 404, a publisher 403", async () => {
    const sleep = async () => {
      const response = await server.app.inject({
        method: "POST",
        url: "/arcgis/rest/services/System/Utilities/GPServer/Sleep/submitJob",
        payload: { seconds: "60", f: "json", token: tokens.analyst ?? "" }
      })
      return RestJob.schema.parse(response.json()).jobId
    }
    const cancel = (id: string, caller: Caller) =>
      post(`/arcgis/rest/services/System/Utilities/GPServer/jobs/${id}/cancel`, caller)
    const id = await sleep()
    for (const caller of ["anonymous", "colleague", "viewer"] as const) {
      assert.strictEqual(code(JSON.stringify(await cancel(id, caller))), 404, caller)
    }
    assert.strictEqual(code(JSON.stringify(await cancel(id, "publisher"))), 403)
    const status = async () =>
      RestJob.schema.parse(
        JSON.parse((await get(`/arcgis/rest/services/System/Utilities/GPServer/jobs/${id}`, "analyst")).body)
      ).jobStatus
    assert.notInclude(["esriJobCancelling", "esriJobCancelled"], await status(), "nobody else cancelled it")
    assert.include(
      ["esriJobCancelling", "esriJobCancelled"],
      RestJob.cancelSchema.parse(await cancel(id, "analyst")).jobStatus
    )
    const other = await sleep()
    assert.include(
      ["esriJobCancelling", "esriJobCancelled"],
      RestJob.cancelSchema.parse(await cancel(other, "admin")).jobStatus
    )
  })
})

describe("the admin job API under ownership", () => {
  const listed = async (caller: Caller, query = "") => {
    const answer = await get(`${admin}/query?number=100${query}`, caller)
    if (answer.status !== 200 || JSON.parse(answer.body).error !== undefined) return undefined
    const page = JSON.parse(answer.body) as { total: number; results: Array<unknown> }
    return page.results.map((r) => AdminJob.schema.parse(r).job_id)
  }

  it("administrators and publishers list every job; a user lists only their own, never anonymous ones", async () => {
    for (const caller of ["admin", "publisher"] as const) {
      const ids = (await listed(caller)) ?? []
      assert.include(ids, analystJob, caller)
      assert.include(ids, anonymousJob, caller)
    }
    assert.deepStrictEqual(await listed("analyst"), [analystJob])
    assert.deepStrictEqual(await listed("colleague"), [])
    assert.deepStrictEqual(await listed("colleague", "&userName=analyst"), [], "asking for another user finds none")
    assert.deepStrictEqual(await listed("analyst", "&userName=analyst"), [analystJob])
  })

  it("a user's admin job document is the owner's, job viewers' and administrators' only", async () => {
    for (const caller of ["analyst", "publisher", "admin"] as const) {
      const doc = AdminJob.schema.parse(JSON.parse((await get(`${admin}/${analystJob}`, caller)).body))
      assert.strictEqual(doc.username, "analyst", caller)
    }
    const missing = await get(`${admin}/${unknownId}`, "colleague")
    for (const id of [analystJob, anonymousJob]) {
      const answer = await get(`${admin}/${id}`, "colleague")
      assert.strictEqual(answer.body.replaceAll(id, unknownId), missing.body)
    }
  })

  it("statistics count every user's jobs, so they need viewJobs (403 for a user)", async () => {
    assert.strictEqual(code((await get(`${admin}/statistics`, "analyst")).body), 403)
    const stats = JSON.parse((await get(`${admin}/statistics`, "publisher")).body) as { succeeded: number }
    assert.isAtLeast(stats.succeeded, 2)
  })

  it("a secured service's jobs are never shown to a caller who may not use it", async () => {
    const privateJobs = "/arcgis/admin/services/Private.GPServer/jobs"
    const missingService = await get("/arcgis/admin/services/Nowhere.GPServer/jobs/query", "analyst")
    const answer = await get(`${privateJobs}/query`, "analyst")
    assert.strictEqual(code(answer.body), 404)
    assert.strictEqual(answer.body.replaceAll("Private", "Nowhere"), missingService.body)
    assert.strictEqual(code((await get(`${privateJobs}/statistics`, "analyst")).body), 404)
    assert.isDefined(await listed("publisher"))
  })

  it("a bad token answers 498 before the job is looked up, on the admin and the output-file routes", async () => {
    const bad = "&token=forged"
    for (const url of [
      `${admin}/${unknownId}?f=json${bad}`,
      `/arcgis/rest/directories/arcgisjobs/geometry_gpserver/${unknownId}/scratch/report.txt?f=json${bad}`
    ]) {
      const response = await server.app.inject({ method: "GET", url })
      assert.strictEqual(code(response.body), 498, url)
    }
  })
})
