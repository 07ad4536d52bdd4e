// The Administrator API directory above the jobs, on real servers on ports of 127.0.0.1 over SQLite: the walk from
// `admin` to a service and back in json, pjson and html, the HTML sign-in at admin/login with its session cookie
// standing for the body token of the directory's own forms, start and stop (a stopped service refuses submitJob,
// execute and OGC executions and lets the running job finish; the status survives a restart and holds on a second
// server sharing the data folder), statistics, the users and roles pages, and the seed page's sample request.
import { mkdtempSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdminDirectory, AdminJob, AdminQuery, ErrorEnvelope, RestJob } from "@geojobs/core"
import * as Fixtures from "@geojobs/fixtures"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { TestServer as Shared } from "../src/testing/index.ts"
import { services } from "./support/PortServer.ts"

// The seed document's keys, in its order (the seed page is the truth: `@geojobs/fixtures`).
const seedKeys = Object.keys(Fixtures.seedAdminJob() as object)

const password = "correct horse battery"
const dataDir = mkdtempSync(join(tmpdir(), "geojobs-admin-directory-"))

// Servers over one data folder: what several GeoJobs processes on one machine (or a restart) share.
const serve = (users: ReadonlyArray<{ username: string; role: string }> = []) =>
  Shared.start({ storage: () => SqliteStorage.layer({ dataDir }), services, password, users })

let server: Shared.TestServer
let admin = ""
let publisher = ""
const open: Array<Shared.TestServer> = []

const tokenAt = async (base: string, username: string) => {
  const response = await fetch(`${base}/tokens/generateToken`, {
    method: "POST",
    body: new URLSearchParams({ username, password, client: "requestip", f: "json" })
  })
  return ((await response.json()) as { token: string }).token
}

beforeAll(async () => {
  server = await serve([
    { username: "publisher", role: "publisher" },
    { username: "analyst", role: "user" }
  ])
  open.push(server)
  admin = await tokenAt(server.url, "admin")
  publisher = await tokenAt(server.url, "publisher")
})
afterAll(async () => {
  for (const s of open) await s.close()
})

const get = async (path: string, init: RequestInit = {}, base = server.url) => {
  const response = await fetch(`${base}${path}`, { redirect: "manual", ...init })
  return { status: response.status, headers: response.headers, text: await response.text() }
}
const getJson = async (path: string, base = server.url) => JSON.parse((await get(path, {}, base)).text) as unknown
const post = async (
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  base = server.url
) => get(path, { method: "POST", body: new URLSearchParams(fields), headers }, base)
const postJson = async (path: string, fields: Record<string, string>, base = server.url) =>
  JSON.parse((await post(path, fields, {}, base)).text) as Record<string, unknown>

const utilities = "/admin/services/System/Utilities.GPServer"
const restUtilities = "/rest/services/System/Utilities/GPServer"

const jobStatus = async (id: string, base = server.url) =>
  RestJob.schema.parse(await getJson(`${restUtilities}/jobs/${id}?f=json&token=${admin}`, base)).jobStatus

// Polls a job until `done` says so (a bounded number of polls, never a time assertion).
const until = async (id: string, done: (status: string) => boolean, base = server.url) => {
  for (let i = 0; i < 400; i++) {
    const status = await jobStatus(id, base)
    if (done(status)) return status
    await new Promise((r) => setTimeout(r, 25))
  }
  return jobStatus(id, base)
}

const submitEcho = (base = server.url) =>
  postJson(`${restUtilities}/Echo/submitJob`, { input_string: "hello", f: "json", token: admin }, base)

describe("the admin directory, walked in json and pjson", () => {
  it("admin/ lists services and security; services lists folders and the root's services; a folder its services", async () => {
    const root = AdminDirectory.rootSchema.parse(await getJson(`/admin/?f=json&token=${admin}`))
    assert.deepStrictEqual(root.resources, ["services", "machines", "uploads", "security"])
    assert.strictEqual(root.currentVersion, 11.3)
    const top = AdminDirectory.servicesSchema.parse(await getJson(`/admin/services?f=json&token=${admin}`))
    assert.deepStrictEqual(top.folders, ["Analysis", "System"])
    assert.deepStrictEqual(
      top.services.map((s) => [s.folderName, s.serviceName, s.type]),
      [["/", "Private", "GPServer"]]
    )
    const system = AdminDirectory.servicesSchema.parse(await getJson(`/admin/services/System?f=json&token=${admin}`))
    assert.strictEqual(system.folderName, "System")
    assert.deepStrictEqual(system.folders, [])
    assert.deepStrictEqual(
      system.services.map((s) => `${s.serviceName}:${s.configuredState}`),
      ["Utilities:STARTED", "SyncTools:STARTED"]
    )
    const missing = ErrorEnvelope.adminSchema.parse(await getJson(`/admin/services/Nowhere?f=json&token=${admin}`))
    assert.strictEqual(missing.code, 404)
  })

  it("admin/machines lists this node with its heartbeat and the jobs it runs; the root links to it", async () => {
    const sleeping = String(
      (await postJson(`${restUtilities}/Sleep/submitJob`, { seconds: "2", f: "json", token: admin })).jobId
    )
    await until(sleeping, (s) => s === "esriJobExecuting")
    const doc = AdminDirectory.machinesSchema.parse(await getJson(`/admin/machines?f=json&token=${admin}`))
    const here = doc.machines.find((m) => m.machineName === `${hostname()}-${process.pid}`)
    assert.isDefined(here, JSON.stringify(doc))
    assert.strictEqual(here?.pid, process.pid)
    assert.isAtLeast(here?.runningJobs ?? 0, 1)
    assert.isBelow(here?.secondsSinceHeartbeat ?? 99, 30)
    const rootDoc = AdminDirectory.rootSchema.parse(await getJson(`/admin?f=json&token=${admin}`))
    assert.include(rootDoc.resources, "machines")
    const page = await get(`/admin/machines?token=${admin}`)
    assert.strictEqual(page.status, 200)
    assert.include(page.text, `${hostname()}-${process.pid}`)
    const analyst = await tokenAt(server.url, "analyst")
    // The admin envelope, as ArcGIS answers it (HTTP 200, the code inside).
    const refused = JSON.parse((await get(`/admin/machines?f=json&token=${analyst}`)).text) as { code?: number }
    assert.strictEqual(refused.code, 403)
    await until(sleeping, (s) => s === "esriJobSucceeded")
  })

  it("a service shows its settings as the services file gives them, and its status", async () => {
    const doc = AdminDirectory.serviceSchema.parse(await getJson(`${utilities}?f=json&token=${admin}`))
    assert.deepInclude(doc, {
      folderName: "System",
      serviceName: "Utilities",
      type: "GPServer",
      executionType: "esriExecutionTypeAsynchronous",
      maxConcurrentJobs: 4,
      maxExecutionTime: 600,
      maxUsageTime: 600,
      jobRetention: 21_600,
      access: "public",
      private: false,
      configuredState: "STARTED"
    })
    assert.deepStrictEqual(doc.tasks, ["Echo", "Sleep"])
    assert.match(doc.service_id, /^[a-z0-9]{21}$/)
    const secured = AdminDirectory.serviceSchema.parse(
      await getJson(`/admin/services/Private.GPServer?f=json&token=${admin}`)
    )
    assert.deepStrictEqual(secured.access, { roles: ["publisher"] })
    assert.isTrue(secured.private)
    const sync = AdminDirectory.serviceSchema.parse(
      await getJson(`/admin/services/System/SyncTools.GPServer?f=json&token=${admin}`)
    )
    assert.strictEqual(sync.executionType, "esriExecutionTypeSynchronous")
    // pjson is the same document, indented.
    const pretty = await get(`${utilities}?f=pjson&token=${admin}`)
    assert.include(pretty.text, '\n  "serviceName": "Utilities"')
    assert.deepStrictEqual(JSON.parse(pretty.text), doc)
    const unknown = ErrorEnvelope.adminSchema.parse(
      await getJson(`/admin/services/System/Nope.GPServer?f=json&token=${admin}`)
    )
    assert.strictEqual(unknown.code, 404)
  })

  it("admin/generateToken issues a token for credentials POSTed, and refuses them in a GET", async () => {
    const issued = await postJson("/admin/generateToken", { username: "admin", password, f: "json" })
    assert.isString(issued.token)
    const root = AdminDirectory.rootSchema.parse(await getJson(`/admin?f=json&token=${String(issued.token)}`))
    assert.include(root.resources, "services")
    const refused = ErrorEnvelope.adminSchema.parse(
      await getJson(`/admin/generateToken?username=admin&password=${encodeURIComponent(password)}&f=json`)
    )
    assert.strictEqual(refused.code, 405)
  })

  it("non-administrators get 403, anonymous callers 499, a bad token 498 — on every directory resource", async () => {
    const analyst = await tokenAt(server.url, "analyst")
    for (const path of [
      "/admin",
      "/admin/services",
      "/admin/services/System",
      utilities,
      `${utilities}/statistics`,
      "/admin/security"
    ]) {
      for (const [token, code] of [
        [publisher, 403],
        [analyst, 403],
        ["", 499],
        ["not-a-token", 498]
      ] as const) {
        const doc = ErrorEnvelope.adminSchema.parse(
          await getJson(`${path}?f=json${token === "" ? "" : `&token=${token}`}`)
        )
        assert.strictEqual(doc.code, code, `${path} with ${token || "no token"}`)
      }
    }
  })
})

describe("the HTML directory with its sign-in", () => {
  let cookie = ""
  const origin = () => new URL(server.url).origin
  const page = (path: string) => get(path, { headers: { cookie } })
  const form = (path: string, fields: Record<string, string>) =>
    post(path, { f: "html", ...fields }, { cookie, origin: origin() })

  it("admin/login shows a form posting to itself; signing in keeps the token in an HTTP-only cookie and goes on", async () => {
    const login = await get("/admin/login")
    assert.strictEqual(login.status, 200)
    assert.include(login.text, `action="${server.url}/admin/login"`)
    assert.include(login.text, 'type="password"')
    const signedIn = await post("/admin/login", { username: "admin", password, next: "/arcgis/admin/services" })
    assert.strictEqual(signedIn.status, 303)
    assert.strictEqual(signedIn.headers.get("location"), "/arcgis/admin/services")
    const set = signedIn.headers.get("set-cookie") ?? ""
    assert.match(set, /^geojobs_token=[^;]+; HttpOnly; SameSite=Strict/)
    cookie = set.split(";")[0] ?? ""
    // Without next, the admin root comes after signing in.
    const plain = await post("/admin/login", { username: "admin", password })
    assert.strictEqual(plain.headers.get("location"), `${server.url}/admin`)
  })

  it("a page asked for without signing in answers 499 with the admin sign-in form", async () => {
    const anonymous = await get("/admin/services")
    assert.strictEqual(anonymous.status, 499)
    assert.include(anonymous.text, `action="${server.url}/admin/login"`)
  })

  it("the pages link from the root to a service and its statistics and jobs, and back", async () => {
    const root = await page("/admin")
    assert.strictEqual(root.status, 200)
    assert.include(root.text, "GeoJobs Administrator Directory")
    assert.include(root.text, "Signed in as admin")
    assert.include(root.text, `href="${server.url}/admin/services"`)
    assert.include(root.text, `href="${server.url}/admin/security"`)
    assert.include(root.text, `href="${server.url}/admin/generateToken"`)
    assert.include(root.text, `href="${server.url}/admin/logout"`)
    const top = await page("/admin/services")
    assert.include(top.text, `href="${server.url}/admin/services/System"`)
    assert.include(top.text, `href="${server.url}/admin/services/Private.GPServer"`)
    const folder = await page("/admin/services/System")
    assert.include(folder.text, `href="${server.url}${utilities}"`)
    assert.include(folder.text, "System/Utilities (GPServer) — STARTED")
    const service = await page(utilities)
    assert.include(service.text, "maxConcurrentJobs")
    assert.include(service.text, `href="${server.url}${utilities}/statistics"`)
    assert.include(service.text, `href="${server.url}${utilities}/jobs"`)
    assert.include(service.text, `href="${server.url}${restUtilities}"`)
    assert.include(service.text, `action="${server.url}${utilities}/stop"`)
    const statistics = await page(`${utilities}/statistics`)
    assert.include(statistics.text, "byStatus")
    assert.include(statistics.text, `href="${server.url}${utilities}"`)
  })

  it("the stop and start forms work with the session cookie in place of a body token, from the directory's own pages only", async () => {
    const stopped = await form(`${utilities}/stop`, {})
    assert.strictEqual(stopped.status, 303)
    assert.strictEqual(stopped.headers.get("location"), `${server.url}${utilities}`)
    assert.include((await page(utilities)).text, "STOPPED")
    // A form posted from another site carries the cookie too (SameSite aside): it is refused.
    const forged = await post(`${utilities}/start`, { f: "html" }, { cookie, origin: "https://evil.example.com" })
    assert.strictEqual(forged.status, 499)
    assert.include((await page(utilities)).text, "STOPPED")
    // The JSON API takes no cookie: its POSTs carry the token in the body.
    const json = ErrorEnvelope.adminSchema.parse(
      JSON.parse((await post(`${utilities}/start`, { f: "json" }, { cookie, origin: origin() })).text)
    )
    assert.strictEqual(json.code, 499)
    // A GET of the operation in a browser shows its form.
    const confirm = await page(`${utilities}/start`)
    assert.include(confirm.text, `action="${server.url}${utilities}/start"`)
    const restarted = await form(`${utilities}/start`, {})
    assert.strictEqual(restarted.status, 303)
    assert.include((await page(utilities)).text, "— STARTED")
  })

  it("the users and roles pages list them with a form per operation; a form's POST goes back to its list", async () => {
    const security = await page("/admin/security")
    assert.include(security.text, `href="${server.url}/admin/security/users?f=html"`)
    const users = await page("/admin/security/users?f=html")
    assert.strictEqual(users.status, 200)
    assert.include(users.text, "publisher — publisher")
    assert.include(users.text, `action="${server.url}/admin/security/users/add"`)
    assert.include(users.text, `action="${server.url}/admin/security/users/update"`)
    assert.include(users.text, `action="${server.url}/admin/security/users/remove"`)
    const added = await form("/admin/security/users/add", {
      username: "newcomer",
      password: "long enough pw",
      role: "viewer"
    })
    assert.strictEqual(added.status, 303)
    assert.strictEqual(added.headers.get("location"), `${server.url}/admin/security/users?f=html`)
    assert.include((await page("/admin/security/users?f=html")).text, "newcomer — viewer")
    const roleAdded = await form("/admin/security/roles/add", { name: "reviewers", privileges: "viewJobs" })
    assert.strictEqual(roleAdded.status, 303)
    const roles = await page("/admin/security/roles?f=html")
    assert.include(roles.text, "reviewers: viewJobs")
    assert.include(roles.text, "administrator (built-in)")
    assert.include(roles.text, `action="${server.url}/admin/security/roles/remove"`)
    const operationForm = await page("/admin/security/users/add?f=html")
    assert.include(operationForm.text, `action="${server.url}/admin/security/users/add"`)
    // A failed operation answers its error page, not a redirect.
    const duplicate = await form("/admin/security/users/add", {
      username: "newcomer",
      password: "long enough pw",
      role: "viewer"
    })
    assert.strictEqual(duplicate.status, 409)
    // JSON is as it was.
    const listed = (await getJson(`/admin/security/users?f=json&token=${admin}`)) as {
      users: Array<{ username: string }>
    }
    assert.include(
      listed.users.map((u) => u.username),
      "newcomer"
    )
  })
})

describe("start and stop", () => {
  it("a stopped service refuses submitJob, execute and OGC executions with a clear error; the running job finishes", async () => {
    const sleeping = RestJob.schema.parse(
      await postJson(`${restUtilities}/Sleep/submitJob`, { seconds: "1", f: "json", token: admin })
    ).jobId
    assert.strictEqual(
      await until(sleeping, (s) => s !== "esriJobSubmitted" && s !== "esriJobWaiting"),
      "esriJobExecuting"
    )
    // Every admin POST carries its token in the body: one in the query string is not enough.
    const inQuery = await post(`${utilities}/stop?token=${admin}`, { f: "json" })
    assert.strictEqual(ErrorEnvelope.adminSchema.parse(JSON.parse(inQuery.text)).code, 499)
    const viaGet = ErrorEnvelope.adminSchema.parse(await getJson(`${utilities}/stop?f=json&token=${admin}`))
    assert.strictEqual(viaGet.code, 405)
    assert.deepStrictEqual(
      AdminQuery.operationSchema.parse(await postJson(`${utilities}/stop`, { f: "json", token: admin })),
      {
        status: "success"
      }
    )
    const syncStop = await postJson("/admin/services/System/SyncTools.GPServer/stop", { f: "json", token: admin })
    assert.strictEqual(syncStop.status, "success")

    const refused = ErrorEnvelope.restSchema.parse(await submitEcho())
    assert.strictEqual(refused.error.code, 503)
    assert.strictEqual(refused.error.message, "Service System/Utilities is stopped: it takes no new jobs.")
    assert.include(refused.error.details.join(" "), "run to completion")
    const execute = ErrorEnvelope.restSchema.parse(
      await postJson("/rest/services/System/SyncTools/GPServer/Echo/execute", {
        input_string: "x",
        f: "json",
        token: admin
      })
    )
    assert.strictEqual(execute.error.code, 503)
    const ogc = await fetch(`${new URL(server.url).origin}/ogcapi/processes/System.Utilities.Echo/execution`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
      body: JSON.stringify({ inputs: { input_string: "x" } })
    })
    assert.strictEqual(ogc.status, 503)
    const exception = (await ogc.json()) as { status: number; detail: string; type: string }
    assert.strictEqual(exception.status, 503)
    assert.include(exception.detail, "is stopped")

    // The job that was running when the service stopped runs to its end, and stays readable.
    assert.strictEqual(
      await until(sleeping, (s) => s === "esriJobSucceeded" || s === "esriJobFailed"),
      "esriJobSucceeded"
    )
    const shown = AdminDirectory.serviceSchema.parse(await getJson(`${utilities}?f=json&token=${admin}`))
    assert.strictEqual(shown.configuredState, "STOPPED")
    assert.strictEqual(shown.statusChangedBy, "admin")
    assert.isNumber(shown.statusChanged)
    // Other services go on.
    const other = await postJson("/rest/services/Private/GPServer/Echo/submitJob", {
      input_string: "x",
      f: "json",
      token: admin
    })
    assert.notProperty(other, "error")

    assert.strictEqual((await postJson(`${utilities}/start`, { f: "json", token: admin })).status, "success")
    assert.strictEqual(
      (await postJson("/admin/services/System/SyncTools.GPServer/start", { f: "json", token: admin })).status,
      "success"
    )
    const again = RestJob.schema.parse(await submitEcho())
    assert.strictEqual(
      await until(again.jobId, (s) => s === "esriJobSucceeded" || s === "esriJobFailed"),
      "esriJobSucceeded"
    )
  })

  it("starting and stopping need the Administrator role: a publisher gets 403 and the status does not change", async () => {
    const refused = ErrorEnvelope.adminSchema.parse(
      await postJson(`${utilities}/stop`, { f: "json", token: publisher })
    )
    assert.strictEqual(refused.code, 403)
    const doc = AdminDirectory.serviceSchema.parse(await getJson(`${utilities}?f=json&token=${admin}`))
    assert.strictEqual(doc.configuredState, "STARTED")
  })

  it("the stopped status holds on a second server sharing the data folder, and survives a restart of both", async () => {
    const second = await serve()
    open.push(second)
    const secondAdmin = await tokenAt(second.url, "admin")
    assert.strictEqual((await postJson(`${utilities}/stop`, { f: "json", token: admin })).status, "success")
    // Stopped through the first server: the second refuses new jobs too.
    const refused = ErrorEnvelope.restSchema.parse(
      await postJson(
        `${restUtilities}/Echo/submitJob`,
        { input_string: "x", f: "json", token: secondAdmin },
        second.url
      )
    )
    assert.strictEqual(refused.error.code, 503)
    await second.close()
    open.splice(open.indexOf(second), 1)
    await server.close()
    open.splice(open.indexOf(server), 1)

    server = await serve()
    open.push(server)
    admin = await tokenAt(server.url, "admin")
    publisher = await tokenAt(server.url, "publisher")
    const doc = AdminDirectory.serviceSchema.parse(await getJson(`${utilities}?f=json&token=${admin}`))
    assert.strictEqual(doc.configuredState, "STOPPED")
    assert.strictEqual(ErrorEnvelope.restSchema.parse(await submitEcho()).error.code, 503)
    assert.strictEqual((await postJson(`${utilities}/start`, { f: "json", token: admin })).status, "success")
    assert.notProperty(await submitEcho(), "error")
  })
})

describe("statistics", () => {
  it("counts the service's jobs by status and in buckets, from the counts alone", async () => {
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) ids.push(RestJob.schema.parse(await submitEcho()).jobId)
    for (const id of ids) await until(id, (s) => s === "esriJobSucceeded" || s === "esriJobFailed")
    const stats = AdminDirectory.statisticsSchema.parse(await getJson(`${utilities}/statistics?f=json&token=${admin}`))
    assert.strictEqual(stats.serviceName, "Utilities")
    assert.strictEqual(stats.configuredState, "STARTED")
    const byStatus = stats.byStatus
    assert.deepStrictEqual(Object.keys(byStatus), [
      "New",
      "Submitted",
      "Waiting",
      "Executing",
      "Succeeded",
      "Failed",
      "TimedOut",
      "Cancelling",
      "Cancelled",
      "Deleting",
      "Deleted"
    ])
    assert.isAtLeast(stats.succeeded, 3)
    assert.strictEqual(stats.succeeded, byStatus.Succeeded)
    assert.strictEqual(
      stats.total,
      Object.values(byStatus).reduce((a, b) => a + b, 0)
    )
    // The same counts the jobs' own statistics give.
    const classic = AdminQuery.statisticsSchema.parse(
      await getJson(`${utilities}/jobs/statistics?f=json&token=${admin}`)
    )
    assert.deepStrictEqual(
      [classic.total, classic.succeeded, classic.failed, classic.cancelled],
      [stats.total, stats.succeeded, stats.failed, stats.cancelled]
    )
  })
})

describe("the seed page's sample request", () => {
  it("<context>/rest/services/<folder>/<Name>.GPServer/jobs/<id>?f=pjson answers the seed document, as the admin URL does", async () => {
    const id = RestJob.schema.parse(await submitEcho()).jobId
    await until(id, (s) => s === "esriJobSucceeded")
    const sample = await get(`/rest/services/System/Utilities.GPServer/jobs/${id}?f=pjson&token=${admin}`)
    const doc = JSON.parse(sample.text) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(doc), seedKeys)
    assert.include(sample.text, '\n  "status_code": 4')
    const seed = AdminJob.schema.parse(doc)
    assert.strictEqual(seed.status, "Succeeded")
    assert.strictEqual(seed.url, `${server.url}/rest/services/System/Utilities/GPServer/jobs/${id}`)
    assert.deepStrictEqual(doc, await getJson(`${utilities}/jobs/${id}?f=pjson&token=${admin}`))
    // Its rules are the admin job's; under rest/ its errors are in the REST envelope.
    const anonymous = ErrorEnvelope.restSchema.parse(
      await getJson(`/rest/services/System/Utilities.GPServer/jobs/${id}?f=json`)
    )
    assert.strictEqual(anonymous.error.code, 499)
    const unknown = ErrorEnvelope.restSchema.parse(
      await getJson(`/rest/services/System/Utilities.GPServer/jobs/j${"0".repeat(32)}?f=json&token=${admin}`)
    )
    assert.strictEqual(unknown.error.code, 404)
  })
})
