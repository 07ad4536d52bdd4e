import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope } from "@geojobs/core"
import { SqliteStorage } from "@geojobs/store-sqlite"
import { Layer, ManagedRuntime } from "effect"
import * as Server from "../src/Server.ts"
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

describe("nodeName and serveApi (a cluster's nodes)", () => {
  /** The plugin on its own services, with these options. */
  const make = async (options: Partial<Server.Options>) => {
    const dataDir = mkdtempSync(join(tmpdir(), "geojobs-node-"))
    const servicesFile = join(dataDir, "services.yaml")
    writeFileSync(servicesFile, "services:\n  - folder: System\n    name: Utilities\n    tasks: [{tool: Echo}]\n")
    const runtime = ManagedRuntime.make(
      Server.servicesLayer({ servicesFile, engine: { dataDir, maxWorkers: 1, shutdownGraceMs: 100 } }).pipe(
        Layer.provideMerge(SqliteStorage.layer({ dataDir }))
      )
    )
    const app = await Server.make({ runtime, logLevel: "silent", publicMetrics: true, ...options })
    return {
      app,
      close: async () => {
        await app.close()
        await runtime.dispose()
        rmSync(dataDir, { recursive: true, force: true })
      }
    }
  }

  it("/health answers the node's name when given, and only the status otherwise", async () => {
    const named = await make({ nodeName: "gis-node-1" })
    try {
      const health = await named.app.inject({ method: "GET", url: "/health" })
      assert.deepStrictEqual(health.json(), { status: "ok", node: "gis-node-1" })
    } finally {
      await named.close()
    }
    assert.deepStrictEqual((await server.app.inject({ method: "GET", url: "/health" })).json(), { status: "ok" })
  })

  it("serveApi false: /health and /metrics only, every other path a 404 in its area's envelope", async () => {
    const worker = await make({ nodeName: "worker-1", serveApi: false, realStatusCodes: true })
    try {
      const inject = (method: "GET" | "POST", url: string) => worker.app.inject({ method, url })
      assert.deepStrictEqual((await inject("GET", "/health")).json(), { status: "ok", node: "worker-1" })
      const metrics = await inject("GET", "/metrics")
      assert.strictEqual(metrics.statusCode, 200)
      assert.include(metrics.body, "# TYPE")
      for (const url of [
        "/arcgis/rest/info?f=json",
        "/arcgis/rest/services?f=json",
        "/arcgis/rest/services/System/Utilities/GPServer/Echo/submitJob?input_string=x&f=json",
        "/arcgis/tokens/generateToken?f=json"
      ]) {
        for (const method of ["GET", "POST"] as const) {
          const answer = await inject(method, url)
          assert.strictEqual(answer.statusCode, 404, `${method} ${url}`)
          assert.strictEqual(ErrorEnvelope.restSchema.parse(answer.json()).error.code, 404)
        }
      }
      const admin = await inject("GET", "/arcgis/admin/services?f=json")
      assert.strictEqual(admin.statusCode, 404)
      assert.strictEqual(ErrorEnvelope.adminSchema.parse(admin.json()).code, 404)
      // The OGC API – Processes area is the API too.
      assert.strictEqual((await inject("GET", "/ogcapi/processes?f=json")).statusCode, 404)
    } finally {
      await worker.close()
    }
  })

  it("serveApi true (the default) serves the API as before", async () => {
    const api = await make({ serveApi: true })
    try {
      const info = await api.app.inject({ method: "GET", url: "/arcgis/rest/info?f=json" })
      assert.strictEqual(info.statusCode, 200)
      assert.isDefined((info.json() as { currentVersion?: number }).currentVersion)
    } finally {
      await api.close()
    }
  })
})
