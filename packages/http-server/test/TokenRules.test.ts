// The token rules a multi-user server needs (issue 10): credentials by POST only, a referer binding checked against
// the Referer header, tokens that die with a password, role or standing change, admin POSTs with the token in the
// body, the last administrator kept, failed sign-ins throttled across every token URL and the HTML sign-in, and a
// sign-in that redirects only within the site.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope } from "@geojobs/core"
import { password, start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
beforeAll(async () => {
  server = await start()
})
afterAll(async () => server.close())

const post = async (url: string, payload: Record<string, string>, headers: Record<string, string> = {}) => {
  const response = await server.app.inject({ method: "POST", url, payload, headers })
  return response.json() as Record<string, unknown>
}
// The REST envelope (`{error: {code}}`) or the admin one (`{status: "error", code}`, at admin/generateToken).
const restCode = (doc: unknown) =>
  (doc as { error?: unknown }).error === undefined
    ? ErrorEnvelope.adminSchema.parse(doc).code
    : ErrorEnvelope.restSchema.parse(doc).error.code
const signIn = async (username: string, pw = password, extra: Record<string, string> = {}) =>
  post("/arcgis/tokens/generateToken", { username, password: pw, f: "json", ...extra })
const service = (token: string, headers: Record<string, string> = {}) =>
  server.app
    .inject({ method: "GET", url: `/arcgis/rest/services/System/Utilities/GPServer?f=json&token=${token}`, headers })
    .then((r) => r.json() as Record<string, unknown>)
const adminPost = (operation: string, payload: Record<string, string>) =>
  post(`/arcgis/admin/security/${operation}`, { f: "json", ...payload })

describe("token rules over HTTP", () => {
  it("generateToken takes credentials by POST only: a GET with them is 405 and issues nothing", async () => {
    for (const url of [
      "/arcgis/tokens/generateToken",
      "/arcgis/admin/generateToken",
      "/arcgis/sharing/rest/generateToken"
    ]) {
      const response = await server.app.inject({
        method: "GET",
        url: `${url}?username=analyst&password=${encodeURIComponent(password)}&f=json`
      })
      const doc = response.json() as Record<string, unknown>
      assert.isUndefined(doc.token, url)
      assert.strictEqual(restCode(doc), 405, url)
    }
    // The form page (a GET without parameters) still answers.
    const form = await server.app.inject({ method: "GET", url: "/arcgis/tokens/generateToken?f=html" })
    assert.include(form.body, 'type="password"')
  })

  it("a referer-bound token is checked against the Referer header, never a referer= field", async () => {
    const { token } = (await signIn("publisher", password, {
      client: "referer",
      referer: "https://app.example.com"
    })) as {
      token: string
    }
    assert.isString(token)
    const byField = await server.app.inject({
      method: "GET",
      url: `/arcgis/rest/services/System/Utilities/GPServer?f=json&token=${token}&referer=https://app.example.com`
    })
    assert.strictEqual(restCode(byField.json()), 498)
    assert.isArray((await service(token, { referer: "https://app.example.com/map.html" })).tasks)
  })

  it("changing a password, the role or disabling a user revokes their tokens at once", async () => {
    const admin = await server.token("admin")
    await adminPost("users/add", { username: "temp", password: "long enough pw", role: "user", token: admin })
    const changes: ReadonlyArray<Record<string, string>> = [
      { password: "another long pw" },
      { role: "publisher" },
      { disabled: "true" }
    ]
    let current = "long enough pw"
    for (const change of changes) {
      const { token } = (await signIn("temp", current)) as { token: string }
      assert.isArray((await service(token)).tasks, JSON.stringify(change))
      assert.deepStrictEqual(await adminPost("users/update", { username: "temp", token: admin, ...change }), {
        status: "success"
      })
      if (change.password !== undefined) current = change.password
      assert.strictEqual(restCode(await service(token)), 498, JSON.stringify(change))
    }
    // Disabled: cannot sign in, like a wrong password; enabled again: can.
    assert.deepStrictEqual(ErrorEnvelope.restSchema.parse(await signIn("temp", current)).error.details, [
      "Invalid username or password."
    ])
    await adminPost("users/update", { username: "temp", disabled: "false", token: admin })
    assert.isString((await signIn("temp", current)).token)
    const users = (
      await server.app.inject({ method: "GET", url: `/arcgis/admin/security/users?f=json&token=${admin}` })
    ).json() as { users: Array<{ username: string; disabled: boolean }> }
    assert.strictEqual(users.users.find((u) => u.username === "temp")?.disabled, false)
    const bad = await adminPost("users/update", { username: "temp", disabled: "maybe", token: admin })
    assert.strictEqual(ErrorEnvelope.adminSchema.parse(bad).code, 400)
    assert.include(JSON.stringify(bad), "disabled")
  })

  it("admin POSTs — user and role management, job queries and statistics too — need the token in the body", async () => {
    const admin = await server.token("admin")
    const body = await server.app.inject({
      method: "POST",
      url: "/arcgis/admin/services/System/Utilities.GPServer/jobs/query",
      payload: { token: admin, f: "json" }
    })
    assert.strictEqual((body.json() as { total?: unknown }).total !== undefined, true, body.body.slice(0, 200))
  })

  it("user and role management POSTs need the token in the body, not the query or a header", async () => {
    const admin = await server.token("admin")
    const jobs = "services/System/Utilities.GPServer/jobs"
    for (const operation of [
      "users/add",
      "users/update",
      "users/remove",
      "roles/add",
      "roles/remove",
      `../${jobs}/query`,
      `../${jobs}/statistics`,
      `../${jobs}/purgeQueue`
    ]) {
      const viaQuery = await server.app.inject({
        method: "POST",
        url: `/arcgis/admin/security/${operation}?token=${admin}`,
        payload: { username: "never", password: "long enough pw", role: "user", name: "never", f: "json" }
      })
      assert.strictEqual(ErrorEnvelope.adminSchema.parse(viaQuery.json()).code, 499, operation)
      const viaHeader = await server.app.inject({
        method: "POST",
        url: `/arcgis/admin/security/${operation}`,
        headers: { "x-esri-authorization": `Bearer ${admin}` },
        payload: { username: "never", password: "long enough pw", role: "user", name: "never", f: "json" }
      })
      assert.strictEqual(ErrorEnvelope.adminSchema.parse(viaHeader.json()).code, 499, operation)
    }
    const users = (
      await server.app.inject({ method: "GET", url: `/arcgis/admin/security/users?f=json&token=${admin}` })
    ).json() as { users: Array<{ username: string }> }
    assert.isFalse(users.users.some((u) => u.username === "never"))
  })

  it("the last administrator cannot be removed, demoted or disabled; prototype role names are refused", async () => {
    const admin = await server.token("admin")
    for (const change of [
      ["users/remove", {}],
      ["users/update", { role: "user" }],
      ["users/update", { disabled: "true" }]
    ] as const) {
      const doc = await adminPost(change[0], { username: "admin", token: admin, ...change[1] })
      const error = ErrorEnvelope.adminSchema.parse(doc)
      assert.strictEqual(error.code, 400, JSON.stringify(change))
      assert.include(JSON.stringify(doc), "last administrator")
    }
    assert.isArray((await service(admin)).tasks, "the administrator's token still works")
    for (const name of ["constructor", "__proto__"]) {
      const doc = await adminPost("roles/add", { name, privileges: "viewJobs", token: admin })
      assert.strictEqual(ErrorEnvelope.adminSchema.parse(doc).code, 400, name)
    }
  })

  it("failed sign-ins are throttled per user across every token URL and the HTML sign-in, not other users", async () => {
    const admin = await server.token("admin")
    await adminPost("users/add", { username: "target", password: "long enough pw", role: "user", token: admin })
    const urls = ["/arcgis/tokens/generateToken", "/arcgis/admin/generateToken", "/arcgis/sharing/rest/generateToken"]
    for (const [i, url] of [...urls, ...urls].slice(0, 4).entries()) {
      assert.strictEqual(restCode(await post(url, { username: "target", password: "wrong", f: "json" })), 400, `${i}`)
    }
    const html = await server.app.inject({
      method: "POST",
      url: "/arcgis/rest/login",
      payload: { username: "target", password: "wrong" }
    })
    assert.include(html.body, "Invalid username or password.")
    // Five failures: now even the right password is refused, at every URL and on the sign-in page.
    for (const url of urls) {
      const doc = await post(url, { username: "target", password: "long enough pw", f: "json" })
      assert.strictEqual(restCode(doc), 429, url)
      assert.match(JSON.stringify(doc), /Too many failed sign-in attempts/)
      assert.isUndefined(doc.token)
    }
    const page = await server.app.inject({
      method: "POST",
      url: "/arcgis/admin/login",
      payload: { username: "target", password: "long enough pw" }
    })
    assert.notProperty(page.headers, "set-cookie")
    assert.include(page.body, "Too many failed sign-in attempts")
    // A colleague at the same address signs in as usual.
    assert.isString((await signIn("colleague")).token)
  })

  it("user and role mistakes answer 400, 404 or 409 in the admin envelope naming the problem, never 500", async () => {
    const admin = await server.token("admin")
    await adminPost("users/add", { username: "dup", password: "long enough pw", role: "user", token: admin })
    const cases: ReadonlyArray<readonly [string, Record<string, string>, number, string]> = [
      ["users/add", { username: "dup", password: "long enough pw", role: "user" }, 409, "dup already exists"],
      ["users/add", { username: "new1", password: "long enough pw", role: "nosuchrole" }, 400, "nosuchrole"],
      ["users/add", { username: "new2", password: "short", role: "user" }, 400, "at least 8 characters"],
      ["users/add", { username: "bad name!", password: "long enough pw", role: "user" }, 400, "username"],
      ["users/remove", { username: "nobody-here" }, 404, "nobody-here"],
      ["users/update", { username: "nobody-here", role: "user" }, 404, "nobody-here"],
      ["users/update", { username: "dup", role: "nosuchrole" }, 400, "nosuchrole"],
      ["roles/add", { name: "odd name!", privileges: "viewJobs" }, 400, "role name"],
      ["roles/add", { name: "fine", privileges: "flyPlanes" }, 400, "flyPlanes"],
      ["roles/remove", { name: "user" }, 400, "built-in"],
      ["roles/remove", { name: "never-made" }, 400, "never-made"]
    ]
    for (const [operation, fields, code, mention] of cases) {
      const doc = await adminPost(operation, { ...fields, token: admin })
      assert.strictEqual(ErrorEnvelope.adminSchema.parse(doc).code, code, `${operation} ${JSON.stringify(fields)}`)
      assert.include(JSON.stringify(doc), mention, `${operation} ${JSON.stringify(fields)}`)
    }
  })

  it("the sign-in's next goes only to a path on this site", async () => {
    for (const next of [
      "//evil.example.com/",
      "/\\evil.example.com",
      "https://evil.example.com/",
      "/\t/evil.example.com",
      "javascript:alert(1)"
    ]) {
      const login = await server.app.inject({
        method: "POST",
        url: "/arcgis/rest/login",
        payload: { username: "viewer", password, next }
      })
      assert.strictEqual(login.statusCode, 303, next)
      const location = new URL(String(login.headers.location), "http://localhost")
      assert.strictEqual(location.hostname, "localhost", next)
      assert.match(location.pathname, /^\/arcgis\//, next)
    }
    const ok = await server.app.inject({
      method: "POST",
      url: "/arcgis/rest/login",
      payload: { username: "viewer", password, next: "/arcgis/rest/services/System" }
    })
    assert.strictEqual(ok.headers.location, "/arcgis/rest/services/System")
  })
})
