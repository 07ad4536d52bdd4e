// The auth matrix: every kind of route × every token state a probe tries — none, expired, forged, tampered, bound to
// another referer, revoked by a password change, another user's, a role without the right — with the exact code each
// must answer, and no job document in any refusal. Ownership.test.ts goes through every per-job route by caller;
// this file is about the token itself. A new route gets its row here.
// OGC API rows (`ogc: true`) send the token as `Authorization: Bearer` and answer real HTTP statuses with OGC
// exceptions: 401 for no token or a bad one (where ArcGIS says 499 and 498), 403, and 404 for a job the caller may not
// see; 0 is a success (200, or 201 for an execution).
import { createHash } from "node:crypto"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope, RestJob } from "@geojobs/core"
import { SqliteDatabase } from "@geojobs/store-sqlite"
import { password, start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
const rest = "/arcgis/rest/services"
const geometry = `${rest}/Analysis/Geometry/GPServer`
const adminJobs = "/arcgis/admin/services/Analysis/Geometry.GPServer/jobs"

const states = [
  "none",
  "expired",
  "forged",
  "tampered",
  "otherReferer",
  "revokedByPasswordChange",
  "anotherUser",
  "insufficientRole"
] as const
type State = (typeof states)[number]
// A bad token is refused the same way everywhere, before anything about the resource is said.
const badTokens: ReadonlyArray<State> = ["expired", "forged", "tampered", "otherReferer", "revokedByPasswordChange"]

interface Route {
  readonly name: string
  readonly method: "GET" | "POST" | "DELETE"
  /** An OGC API route: the token in `Authorization: Bearer`, a JSON body, the HTTP status as the code. */
  readonly ogc?: boolean
  readonly json?: unknown
  readonly url: string
  readonly fields?: Record<string, string>
  /** What an anonymous caller, another user (role user) and a viewer get; 0 is a success. The owner always succeeds. */
  readonly none: number
  readonly anotherUser: number
  readonly insufficientRole: number
}

let jobId = ""
// An item the owner (analyst) uploaded to Analysis/Geometry.
let itemId = ""
const routes = (): ReadonlyArray<Route> => [
  { name: "catalog", method: "GET", url: rest, none: 0, anotherUser: 0, insufficientRole: 0 },
  { name: "folder", method: "GET", url: `${rest}/System`, none: 0, anotherUser: 0, insufficientRole: 0 },
  {
    name: "public service",
    method: "GET",
    url: `${rest}/System/Utilities/GPServer`,
    none: 0,
    anotherUser: 0,
    insufficientRole: 0
  },
  {
    name: "secured service",
    method: "GET",
    url: `${rest}/Private/GPServer`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "secured task",
    method: "GET",
    url: `${rest}/Private/GPServer/Echo`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "secured submitJob",
    method: "POST",
    url: `${rest}/Private/GPServer/Echo/submitJob`,
    fields: { text: "x" },
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  { name: "job", method: "GET", url: `${geometry}/jobs/${jobId}`, none: 404, anotherUser: 404, insufficientRole: 404 },
  {
    name: "task job",
    method: "GET",
    url: `${geometry}/Report/jobs/${jobId}`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "results",
    method: "GET",
    url: `${geometry}/jobs/${jobId}/results/report`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "inputs",
    method: "GET",
    url: `${geometry}/jobs/${jobId}/inputs/title`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "output file",
    method: "GET",
    url: `/arcgis/rest/directories/arcgisjobs/geometry_gpserver/${jobId}/scratch/report.txt`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  { name: "admin jobs", method: "GET", url: adminJobs, none: 499, anotherUser: 0, insufficientRole: 403 },
  { name: "admin query", method: "POST", url: `${adminJobs}/query`, none: 499, anotherUser: 0, insufficientRole: 403 },
  {
    name: "admin job",
    method: "GET",
    url: `${adminJobs}/${jobId}`,
    none: 499,
    anotherUser: 404,
    insufficientRole: 403
  },
  {
    name: "admin job callbacks",
    method: "GET",
    url: `${adminJobs}/${jobId}/callbacks`,
    none: 499,
    anotherUser: 404,
    insufficientRole: 403
  },
  {
    name: "admin statistics",
    method: "GET",
    url: `${adminJobs}/statistics`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin delete",
    method: "POST",
    url: `${adminJobs}/${jobId}/delete`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "users",
    method: "GET",
    url: "/arcgis/admin/security/users",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "users/add",
    method: "POST",
    url: "/arcgis/admin/security/users/add",
    fields: { username: "intruder", password: "long enough pw", role: "administrator" },
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  // The Administrator API directory: administrators only.
  { name: "admin root", method: "GET", url: "/arcgis/admin/", none: 499, anotherUser: 403, insufficientRole: 403 },
  {
    name: "admin services",
    method: "GET",
    url: "/arcgis/admin/services",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin folder",
    method: "GET",
    url: "/arcgis/admin/services/Analysis",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin service",
    method: "GET",
    url: "/arcgis/admin/services/Analysis/Geometry.GPServer",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin service statistics",
    method: "GET",
    url: "/arcgis/admin/services/Analysis/Geometry.GPServer/statistics",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin service stop",
    method: "POST",
    url: "/arcgis/admin/services/Analysis/Geometry.GPServer/stop",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin service start",
    method: "POST",
    url: "/arcgis/admin/services/Analysis/Geometry.GPServer/start",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin uploads",
    method: "GET",
    url: "/arcgis/admin/uploads",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin machines",
    method: "GET",
    url: "/arcgis/admin/machines",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "admin security",
    method: "GET",
    url: "/arcgis/admin/security",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "roles",
    method: "GET",
    url: "/arcgis/admin/security/roles",
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "roles/add",
    method: "POST",
    url: "/arcgis/admin/security/roles/add",
    fields: { name: "intruders", privileges: "manageUsers" },
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  // Uploads: a public service's list (the caller's own items) and info; another user's item reads as none at all; a
  // secured service's uploads need its role, before any body is read.
  { name: "uploads", method: "GET", url: `${geometry}/uploads`, none: 0, anotherUser: 0, insufficientRole: 0 },
  {
    name: "uploads info",
    method: "GET",
    url: `${geometry}/uploads/info`,
    none: 0,
    anotherUser: 0,
    insufficientRole: 0
  },
  {
    name: "secured uploads info",
    method: "GET",
    url: `${rest}/Private/GPServer/uploads/info`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  // A public service takes anyone's upload, but only as a multipart body (this row's form body is refused: 400).
  {
    name: "upload",
    method: "POST",
    url: `${geometry}/uploads/upload`,
    none: 400,
    anotherUser: 400,
    insufficientRole: 400
  },
  {
    name: "secured upload",
    method: "POST",
    url: `${rest}/Private/GPServer/uploads/upload`,
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "secured register",
    method: "POST",
    url: `${rest}/Private/GPServer/uploads/register`,
    fields: { itemName: "x.zip" },
    none: 499,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "uploaded item",
    method: "GET",
    url: `${geometry}/uploads/${itemId}`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "uploaded item parts",
    method: "GET",
    url: `${geometry}/uploads/${itemId}/parts`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "uploaded item uploadPart",
    method: "POST",
    url: `${geometry}/uploads/${itemId}/uploadPart`,
    fields: { partId: "1" },
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "uploaded item commit",
    method: "POST",
    url: `${geometry}/uploads/${itemId}/commit`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "uploaded item delete",
    method: "POST",
    url: `${geometry}/uploads/${itemId}/delete`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  // The seed page's sample request: the admin job's rules (the owner reads it, another user finds nothing).
  {
    name: "seed sample job",
    method: "GET",
    url: `/arcgis/rest/services/Analysis/Geometry.GPServer/jobs/${jobId}`,
    none: 499,
    anotherUser: 404,
    insufficientRole: 403
  },
  { name: "ogc landing", ogc: true, method: "GET", url: "/ogcapi/", none: 0, anotherUser: 0, insufficientRole: 0 },
  {
    name: "ogc conformance",
    ogc: true,
    method: "GET",
    url: "/ogcapi/conformance",
    none: 0,
    anotherUser: 0,
    insufficientRole: 0
  },
  { name: "ogc api", ogc: true, method: "GET", url: "/ogcapi/api", none: 0, anotherUser: 0, insufficientRole: 0 },
  {
    name: "ogc processes",
    ogc: true,
    method: "GET",
    url: "/ogcapi/processes",
    none: 0,
    anotherUser: 0,
    insufficientRole: 0
  },
  {
    name: "ogc public process",
    ogc: true,
    method: "GET",
    url: "/ogcapi/processes/System.Utilities.Echo",
    none: 0,
    anotherUser: 0,
    insufficientRole: 0
  },
  {
    name: "ogc secured process",
    ogc: true,
    method: "GET",
    url: "/ogcapi/processes/Private.Echo",
    none: 401,
    anotherUser: 403,
    insufficientRole: 403
  },
  {
    name: "ogc secured execution",
    ogc: true,
    method: "POST",
    url: "/ogcapi/processes/Private.Echo/execution",
    json: { inputs: { input_string: "x" } },
    none: 401,
    anotherUser: 403,
    insufficientRole: 403
  },
  { name: "ogc jobs", ogc: true, method: "GET", url: "/ogcapi/jobs", none: 0, anotherUser: 0, insufficientRole: 0 },
  {
    name: "ogc job",
    ogc: true,
    method: "GET",
    url: `/ogcapi/jobs/${jobId}`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "ogc results",
    ogc: true,
    method: "GET",
    url: `/ogcapi/jobs/${jobId}/results`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  },
  {
    name: "ogc dismiss (delete)",
    ogc: true,
    method: "DELETE",
    url: `/ogcapi/jobs/${jobId}`,
    none: 404,
    anotherUser: 404,
    insufficientRole: 404
  }
]

const tokens: Partial<Record<State, string>> = {}
let owner = ""

const signIn = async (username: string, pw: string, extra: Record<string, string> = {}) => {
  const response = await server.app.inject({
    method: "POST",
    url: "/arcgis/tokens/generateToken",
    payload: { username, password: pw, f: "json", ...extra }
  })
  return (response.json() as { token: string }).token
}

beforeAll(async () => {
  server = await start()
  const admin = await server.token("admin")
  owner = await server.token("analyst")
  const submitted = await server.app.inject({
    method: "POST",
    url: `${geometry}/Report/submitJob`,
    payload: { title: "secret report", f: "json", token: owner }
  })
  jobId = RestJob.schema.parse(submitted.json()).jobId
  for (let i = 0; i < 200; i++) {
    const doc = await server.app.inject({ method: "GET", url: `${geometry}/jobs/${jobId}?f=json&token=${owner}` })
    if (RestJob.schema.parse(doc.json()).jobStatus === "esriJobSucceeded") break
    await new Promise((r) => setTimeout(r, 25))
  }
  const boundary = "----geojobs-auth-matrix"
  const uploaded = await server.app.inject({
    method: "POST",
    url: `${geometry}/uploads/upload?f=json&token=${owner}`,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="secret.csv"\r\nContent-Type: text/csv\r\n\r\nx,y\n1,2\n\r\n--${boundary}--\r\n`
  })
  itemId = (uploaded.json() as { item: { itemID: string } }).item.itemID
  // Expired: a token row whose time has passed, written to the security store as an issued token would be.
  const expired = "expired-token-0123456789abcdefghijklmnopqrstuv"
  const db = SqliteDatabase.open({ filename: join(server.dataDir, "security.sqlite") }, [])
  db.prepare(
    "INSERT INTO tokens (digest, username, expires, referer, ip, created) VALUES (?, ?, ?, NULL, NULL, ?)"
  ).run(createHash("sha256").update(expired).digest("hex"), "analyst", Date.now() - 60_000, Date.now() - 120_000)
  db.close()
  tokens.expired = expired
  tokens.forged = "Zm9yZ2VkLXRva2VuLW5vdC1pc3N1ZWQtYnktdGhpcy1zZXJ2ZXI"
  tokens.tampered = `${owner.slice(0, -1)}${owner.endsWith("A") ? "B" : "A"}`
  tokens.otherReferer = await signIn("analyst", password, { client: "referer", referer: "https://app.example.com" })
  await server.app.inject({
    method: "POST",
    url: "/arcgis/admin/security/users/add",
    payload: { username: "rotator", password: "first long password", role: "administrator", token: admin, f: "json" }
  })
  tokens.revokedByPasswordChange = await signIn("rotator", "first long password")
  await server.app.inject({
    method: "POST",
    url: "/arcgis/admin/security/users/update",
    payload: { username: "rotator", password: "second long password", token: admin, f: "json" }
  })
  tokens.anotherUser = await server.token("colleague")
  tokens.insufficientRole = await server.token("viewer")
})
afterAll(async () => server.close())

const ogcCall = async (route: Route, token: string | undefined) => {
  const headers = {
    referer: "https://evil.example.com/page",
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(route.json === undefined ? {} : { "content-type": "application/json" })
  }
  const response = await server.app.inject({
    method: route.method,
    url: route.url,
    headers,
    ...(route.json === undefined ? {} : { payload: JSON.stringify(route.json) })
  })
  return { status: response.statusCode, body: response.body }
}

const call = async (route: Route, token: string | undefined) => {
  if (route.ogc === true) return ogcCall(route, token)
  const fields = { f: "json", ...route.fields, ...(token === undefined ? {} : { token }) }
  const headers = { referer: "https://evil.example.com/page" }
  const response =
    route.method === "GET"
      ? await server.app.inject({ method: "GET", url: `${route.url}?${new URLSearchParams(fields)}`, headers })
      : await server.app.inject({ method: "POST", url: route.url, payload: fields, headers })
  return { status: response.statusCode, body: response.body }
}

// The code of either envelope, or 0 for an answer that is not an error.
const codeOf = (body: string): number => {
  const doc = JSON.parse(body) as { error?: unknown; status?: unknown }
  if (doc.error !== undefined) return ErrorEnvelope.restSchema.parse(doc).error.code
  if (doc.status === "error") return ErrorEnvelope.adminSchema.parse(doc).code
  return 0
}

describe("auth matrix", () => {
  for (const state of states) {
    it(`every route with ${state === "none" ? "no token" : `a token: ${state}`} answers its exact code and leaks nothing`, async () => {
      for (const route of routes()) {
        const expected = badTokens.includes(state)
          ? route.ogc === true
            ? 401
            : 498
          : route[state as "none" | "anotherUser" | "insufficientRole"]
        const answer = await call(route, tokens[state])
        if (route.ogc === true) {
          // Real statuses on OGC paths, with an OGC exception naming its status.
          assert.strictEqual(
            answer.status === 201 ? 0 : answer.status === 200 ? 0 : answer.status,
            expected,
            `${route.name} / ${state}: ${answer.body.slice(0, 200)}`
          )
          if (expected !== 0) {
            assert.strictEqual((JSON.parse(answer.body) as { status: number }).status, expected, route.name)
            assert.notInclude(answer.body, "secret report", `${route.name} / ${state}`)
            assert.notInclude(answer.body, "jobID", `${route.name} / ${state}`)
          } else if (state !== "none" || route.name !== "ogc jobs") {
            // A list shows no one else's job.
            assert.notInclude(answer.body, jobId, `${route.name} / ${state}`)
          }
          continue
        }
        assert.strictEqual(answer.status, 200, `${route.name} / ${state}: ArcGIS answers errors with HTTP 200`)
        assert.strictEqual(codeOf(answer.body), expected, `${route.name} / ${state}: ${answer.body.slice(0, 200)}`)
        if (expected !== 0) {
          assert.notInclude(answer.body, "secret report", `${route.name} / ${state}`)
          assert.notInclude(answer.body, "jobStatus", `${route.name} / ${state}`)
        }
      }
    })
  }

  it("the owner succeeds on every job route, and nothing above deleted the job or added the intruder", async () => {
    for (const route of routes().filter((r) => r.url.includes(jobId) && !r.name.includes("delete"))) {
      const answer = await server.app.inject({ method: "GET", url: `${route.url}?f=json&token=${owner}` })
      assert.strictEqual(answer.statusCode, 200, route.name)
      if (!route.name.includes("file") && !route.name.includes("admin")) {
        assert.strictEqual(codeOf(answer.body), 0, `${route.name}: ${answer.body.slice(0, 200)}`)
      }
    }
    const users = await server.app.inject({
      method: "GET",
      url: `/arcgis/admin/security/users?f=json&token=${await server.token("admin")}`
    })
    assert.notInclude(users.body, "intruder")
    const item = await server.app.inject({ method: "GET", url: `${geometry}/uploads/${itemId}?f=json&token=${owner}` })
    assert.strictEqual((item.json() as { itemID?: string }).itemID, itemId, "the owner's item is still there")
  })
})
