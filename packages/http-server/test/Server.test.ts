import { Writable } from "node:stream"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope } from "@geojobs/core"
import { fastifyOptions } from "../src/Server.ts"
import { start, type TestServer } from "./support/TestServer.ts"

let server: TestServer
beforeAll(async () => {
  server = await start({ realStatusCodes: true })
})
afterAll(async () => server.close())

describe("server settings", () => {
  it("with realStatusCodes, errors carry their HTTP status as well as the envelope", async () => {
    const missing = await server.app.inject({ method: "GET", url: "/arcgis/rest/services/Nope/GPServer?f=json" })
    assert.strictEqual(missing.statusCode, 404)
    assert.strictEqual(ErrorEnvelope.restSchema.parse(missing.json()).error.code, 404)
    const anonymous = await server.app.inject({ method: "GET", url: "/arcgis/rest/services/Private/GPServer?f=json" })
    assert.strictEqual(anonymous.statusCode, 499)
    const fine = await server.app.inject({ method: "GET", url: "/arcgis/rest/info?f=json" })
    assert.strictEqual(fine.statusCode, 200)
  })

  it("request logs keep tokens and passwords out of URLs and headers", () => {
    const logger = fastifyOptions({}).logger as unknown as {
      redact: { paths: ReadonlyArray<string> }
      serializers: { req: (req: { method: string; url: string; ip?: string }) => { url: string } }
    }
    const logged = logger.serializers.req({
      method: "GET",
      url: "/arcgis/rest/info?f=json&token=SECRET1&password=SECRET2",
      ip: "1"
    })
    assert.notInclude(logged.url, "SECRET1")
    assert.notInclude(logged.url, "SECRET2")
    assert.include(logged.url, "f=json")
    assert.includeMembers(
      [...logger.redact.paths],
      ["req.headers.authorization", 'req.headers["x-esri-authorization"]', "req.headers.cookie"]
    )
  })

  it("logs one JSON line per request, with status and time, and no token or password anywhere", async () => {
    const lines: Array<string> = []
    const logStream = new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(
          ...String(chunk)
            .split("\n")
            .filter((l) => l !== "")
        )
        done()
      }
    })
    const logged = await start({ logStream })
    try {
      const token = await logged.token("analyst")
      await logged.app.inject({ method: "GET", url: `/arcgis/rest/info?f=json&token=${token}` })
      await logged.app.inject({
        method: "GET",
        url: "/arcgis/rest/services?f=json",
        headers: { authorization: `Bearer ${token}`, cookie: `geojobs_token=${token}` }
      })
      await logged.app.inject({ method: "GET", url: "/arcgis/rest/services/Nope/GPServer?f=json&password=hunter22" })
      const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request")
      // generateToken (inside token()) and the three requests above: one line each.
      assert.strictEqual(requests.length, 4)
      assert.deepStrictEqual(
        requests.map((r) => r.res.statusCode),
        [200, 200, 200, 200]
      )
      assert.isTrue(requests.every((r) => typeof r.responseTime === "number" && r.req.method !== undefined))
      assert.include(requests[1].req.url, "token=[redacted]")
      const all = lines.join("\n")
      assert.notInclude(all, token)
      assert.notInclude(all, "hunter22")
      assert.notInclude(all, "correct horse")
    } finally {
      await logged.close()
    }
  })

  it("JSON answers carry nosniff; HTML pages carry the full security headers", async () => {
    const json = await server.app.inject({ method: "GET", url: "/arcgis/rest/info?f=json" })
    assert.strictEqual(json.headers["x-content-type-options"], "nosniff")
    const html = await server.app.inject({ method: "GET", url: "/arcgis/rest/services" })
    assert.include(String(html.headers["content-security-policy"]), "default-src 'self'")
    assert.isDefined(html.headers["x-frame-options"])
  })
})

describe("the HTML directory's header", () => {
  it("says who is signed in (cookie or token), and offers sign-in otherwise", async () => {
    const anonymous = await server.app.inject({ method: "GET", url: "/arcgis/rest/services" })
    assert.include(anonymous.body, "Sign in</a>")
    const token = await server.token("publisher")
    const signed = await server.app.inject({
      method: "GET",
      url: `/arcgis/rest/services/System/Utilities/GPServer?token=${token}`
    })
    assert.include(signed.body, "Signed in as publisher")
  })
})
