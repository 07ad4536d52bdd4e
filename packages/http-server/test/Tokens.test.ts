import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope } from "@geojobs/core"
import { password, start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
beforeAll(async () => {
  server = await start({ tokenRequestsPerMinute: 25 })
})
afterAll(async () => server.close())

const post = async (url: string, payload: Record<string, string>, headers: Record<string, string> = {}) => {
  const response = await server.app.inject({ method: "POST", url, payload, headers })
  return { status: response.statusCode, body: response.body, json: () => response.json() as Record<string, unknown> }
}

describe("tokens", () => {
  it("generateToken answers {token, expires, ssl} at every URL clients use", async () => {
    for (const url of [
      "/arcgis/tokens/",
      "/arcgis/tokens/generateToken",
      "/arcgis/admin/generateToken",
      "/arcgis/sharing/rest/generateToken"
    ]) {
      const before = Date.now()
      const doc = (
        await post(url, { username: "analyst", password, client: "requestip", expiration: "30", f: "json" })
      ).json()
      assert.deepStrictEqual(Object.keys(doc), ["token", "expires", "ssl"], url)
      assert.isString(doc.token)
      assert.closeTo(doc.expires as number, before + 30 * 60_000, 5_000)
      assert.isFalse(doc.ssl)
    }
  })

  it("wrong credentials: 400 Unable to generate token.", async () => {
    const error = ErrorEnvelope.restSchema.parse(
      (await post("/arcgis/tokens/generateToken", { username: "analyst", password: "wrong", f: "json" })).json()
    ).error
    assert.strictEqual(error.code, 400)
    assert.strictEqual(error.message, "Unable to generate token.")
    assert.deepStrictEqual(error.details, ["Invalid username or password."])
  })

  it("the legacy request=getToken answers the bare token", async () => {
    const response = await post("/arcgis/tokens", {
      request: "getToken",
      username: "analyst",
      password,
      clientid: "ref.https://app.example.com"
    })
    assert.match(response.body, /^[A-Za-z0-9_-]{20,}$/)
  })

  it("a referer-bound token needs the matching Referer", async () => {
    const token = (
      await post("/arcgis/tokens/generateToken", {
        username: "publisher",
        password,
        client: "referer",
        referer: "https://app.example.com",
        f: "json"
      })
    ).json().token as string
    const url = `/arcgis/rest/services/Private/GPServer?f=json&token=${token}`
    const ok = await server.app.inject({ method: "GET", url, headers: { referer: "https://app.example.com/map.html" } })
    assert.deepStrictEqual((ok.json() as { tasks: Array<string> }).tasks, ["Echo"])
    const wrong = await server.app.inject({ method: "GET", url, headers: { referer: "https://evil.example.com/" } })
    assert.strictEqual(ErrorEnvelope.restSchema.parse(wrong.json()).error.code, 498)
  })

  it("the server-token exchange (token + serverUrl) gives a working token", async () => {
    const first = (await post("/arcgis/tokens/generateToken", { username: "publisher", password, f: "json" })).json()
      .token as string
    const exchanged = (
      await post("/arcgis/tokens/generateToken", {
        token: first,
        serverUrl: "http://localhost/arcgis/rest/services",
        f: "json"
      })
    ).json()
    assert.isString(exchanged.token)
    const ok = await server.app.inject({
      method: "GET",
      url: `/arcgis/rest/services/Private/GPServer?f=json&token=${exchanged.token}`
    })
    assert.deepStrictEqual((ok.json() as { tasks: Array<string> }).tasks, ["Echo"])
    const forged = (
      await post("/arcgis/tokens/generateToken", { token: "forged", serverUrl: "http://localhost/arcgis", f: "json" })
    ).json()
    assert.strictEqual(ErrorEnvelope.restSchema.parse(forged).error.code, 498)
  })

  it("the HTML directory signs in with a cookie and out again", async () => {
    const login = await server.app.inject({
      method: "POST",
      url: "/arcgis/rest/login",
      payload: { username: "publisher", password, next: "/arcgis/rest/services/Private/GPServer" }
    })
    assert.strictEqual(login.statusCode, 303)
    const cookie = String(login.headers["set-cookie"]).split(";")[0] ?? ""
    assert.match(cookie, /^geojobs_token=/)
    const page = await server.app.inject({
      method: "GET",
      url: "/arcgis/rest/services/Private/GPServer",
      headers: { cookie }
    })
    assert.include(page.body, "Echo")
    const wrong = await server.app.inject({
      method: "POST",
      url: "/arcgis/rest/login",
      payload: { username: "publisher", password: "nope" }
    })
    assert.include(wrong.body, "Invalid username or password.")
  })

  it("users and roles are managed by administrators through admin endpoints", async () => {
    const admin = await server.token("admin")
    assert.deepStrictEqual(
      (
        await post("/arcgis/admin/security/users/add", {
          username: "newbie",
          password: "long enough pw",
          role: "user",
          token: admin,
          f: "json"
        })
      ).json(),
      { status: "success" }
    )
    const users = (
      await server.app.inject({ method: "GET", url: `/arcgis/admin/security/users?f=json&token=${admin}` })
    ).json() as { users: Array<{ username: string }> }
    assert.isTrue(users.users.some((u) => u.username === "newbie"))
    assert.notInclude(JSON.stringify(users), "scrypt")
    const analyst = await server.token("analyst")
    assert.strictEqual(
      ErrorEnvelope.adminSchema.parse(
        (
          await post("/arcgis/admin/security/users/add", {
            username: "x",
            password: "long enough pw",
            role: "user",
            token: analyst,
            f: "json"
          })
        ).json()
      ).code,
      403
    )
  })

  it("token endpoints are rate limited per client", async () => {
    let limited = 0
    for (let i = 0; i < 30; i++) {
      // A new username each time: the failed-sign-in throttle (per username) stays out of this.
      const r = await post("/arcgis/tokens/generateToken", { username: `nobody${i}`, password: "wrong", f: "json" })
      if (ErrorEnvelope.restSchema.parse(r.json()).error.code === 429) limited++
    }
    assert.isAbove(limited, 0)
  })

  it("the HTML sign-in is at rest/login and admin/login; rest/services/login is the service named login, not a sign-in", async () => {
    for (const url of ["/arcgis/rest/login", "/arcgis/admin/login"]) {
      const page = await server.app.inject({ method: "GET", url })
      assert.strictEqual(page.statusCode, 200, url)
      assert.include(page.body, 'type="password"', url)
    }
    const service = await server.app.inject({ method: "GET", url: "/arcgis/rest/services/login?f=json" })
    assert.notInclude(service.body, 'type="password"')
    assert.include(service.body, '"code":404')
  })
})
