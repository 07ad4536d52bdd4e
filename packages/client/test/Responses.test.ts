import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { GeoJobsClient, isTokenError } from "../src/index.ts"
import { rejection } from "./support/Rejection.ts"

// Not a GeoJobs server: a tiny node:http server that answers what a proxy, a wrong URL or another product might.
let server: Server
let origin = ""

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? "/"
    if (path.startsWith("/html/")) {
      response.writeHead(200, { "content-type": "text/html" })
      response.end("<!doctype html><html><body>Sign in to continue</body></html>")
    } else if (path.startsWith("/wrong/")) {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ folders: "System", services: [{ name: 7 }] }))
    } else if (path.startsWith("/other/arcgis/rest/info")) {
      // Another product's server: its token service lives elsewhere, under the 10.0 spelling of the key.
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ currentVersion: 10, authInfo: { tokenServiceUrl: `${origin}/sso/issue` } }))
    } else if (path === "/sso/issue" && request.method === "POST") {
      let body = ""
      request.on("data", (d) => {
        body += d
      })
      request.on("end", () => {
        const form = new URLSearchParams(body)
        response.writeHead(200, { "content-type": "application/json" })
        response.end(JSON.stringify({ token: `issued-to-${form.get("username")}`, expires: Date.now() + 3_600_000 }))
      })
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("answers that are not what the client expects", () => {
  it("signs in at exactly the token URL rest/info advertises", async () => {
    const client = await GeoJobsClient.connect({ url: `${origin}/other/arcgis`, username: "ana", password: "p" })
    assert.strictEqual(client.token, "issued-to-ana")
  })

  it("a closed port: kind network, naming the URL and the cause", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const client = await GeoJobsClient.connect({ url: `http://127.0.0.1:${port}/arcgis` })
    const error = await rejection(client.services())
    assert.strictEqual(error.kind, "network")
    assert.strictEqual(error.code, undefined)
    assert.strictEqual(error.url, `http://127.0.0.1:${port}/arcgis/rest/services`)
    assert.strictEqual(error.detail, `Cannot reach ${error.url}`)
    assert.match(error.details[0] ?? "", /fetch failed: .*ECONNREFUSED/)
    assert.isFalse(isTokenError(error))
  })

  it("a closed port while signing in: kind network, from connect", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const error = await rejection(
      GeoJobsClient.connect({ url: `http://127.0.0.1:${port}/arcgis`, username: "u", password: "p" })
    )
    assert.strictEqual(error.kind, "network")
    assert.strictEqual(error.url, `http://127.0.0.1:${port}/arcgis/tokens/generateToken`)
  })

  it("an HTML page instead of JSON: kind response, with the start of the page", async () => {
    const client = await GeoJobsClient.connect({ url: `${origin}/html` })
    const error = await rejection(client.services())
    assert.strictEqual(error.kind, "response")
    assert.strictEqual(error.code, 200)
    assert.strictEqual(error.detail, `${origin}/html/rest/services did not answer JSON`)
    assert.match(error.details[0] ?? "", /^<!doctype html>/)
  })

  it("JSON of the wrong shape: kind response, naming the fields that do not match", async () => {
    const client = await GeoJobsClient.connect({ url: `${origin}/wrong` })
    const error = await rejection(client.services())
    assert.strictEqual(error.kind, "response")
    assert.strictEqual(error.code, undefined)
    assert.strictEqual(error.detail, `Unexpected answer from ${origin}/wrong/rest/services`)
    assert.isTrue(error.details.some((d) => d.startsWith("folders:")))
    assert.isTrue(error.details.some((d) => d.startsWith("services.0.name:")))
  })
})
