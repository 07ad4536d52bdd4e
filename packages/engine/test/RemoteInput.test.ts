import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RemoteInput from "../src/RemoteInput.ts"

// A real HTTP server on 127.0.0.1: loopback, so refused unless allowed — exactly what a forged request would aim at.
let server: Server
let origin = ""
beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === "/cities.csv") return response.end("x,y\n1,2\n")
    if (request.url === "/big.csv") return response.end("x".repeat(2000))
    if (request.url === "/redirect") {
      response.writeHead(302, {
        location: `http://localhost:${(server.address() as { port: number }).port}/cities.csv`
      })
      return response.end()
    }
    if (request.url === "/same-host") {
      response.writeHead(302, { location: "/cities.csv" })
      return response.end()
    }
    if (request.url === "/silent") return // never answers
    response.writeHead(404)
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const folder = () => mkdtempSync(join(tmpdir(), "geojobs-remote-"))
const allowed: RemoteInput.Settings = { allowedHosts: ["127.0.0.1"] }

describe("RemoteInput", () => {
  it("urlProblem: http(s) only, no credentials, no literal address that is not public unless allowed", () => {
    assert.isUndefined(RemoteInput.urlProblem("https://example.com/data.zip"))
    assert.match(RemoteInput.urlProblem("ftp://example.com/x.zip") ?? "", /http and https/)
    assert.match(RemoteInput.urlProblem("file:///etc/passwd") ?? "", /http and https/)
    assert.match(RemoteInput.urlProblem("https://user:pw@example.com/x") ?? "", /password/)
    assert.match(RemoteInput.urlProblem("http://169.254.169.254/latest/meta-data") ?? "", /not a public address/)
    assert.match(RemoteInput.urlProblem("http://[::1]:8080/") ?? "", /not a public address/)
    assert.isUndefined(RemoteInput.urlProblem(`${origin}/cities.csv`, allowed))
  })

  it.effect("fetches from an allowed host into the file the caller names", () =>
    Effect.gen(function* () {
      const dir = folder()
      const got = yield* RemoteInput.fetchTo(`${origin}/cities.csv`, async (name) => join(dir, name), allowed)
      assert.deepStrictEqual(got, { fileName: "cities.csv", bytes: 8 })
      assert.strictEqual(readFileSync(join(dir, "cities.csv"), "utf8"), "x,y\n1,2\n")
      const redirected = yield* RemoteInput.fetchTo(`${origin}/same-host`, async (name) => join(dir, name), allowed)
      assert.strictEqual(redirected.fileName, "cities.csv")
    })
  )

  it.effect("refuses loopback by literal address and by name, on redirects too, and says why", () =>
    Effect.gen(function* () {
      const dir = folder()
      const target = async (name: string) => join(dir, name)
      const literal = yield* Effect.flip(RemoteInput.fetchTo(`${origin}/cities.csv`, target))
      assert.match(literal.message, /127\.0\.0\.1 is not a public address/)
      const port = (server.address() as { port: number }).port
      const byName = yield* Effect.flip(RemoteInput.fetchTo(`http://localhost:${port}/cities.csv`, target))
      assert.match(byName.message, /resolves to .*not a public address/)
      // Allowed for 127.0.0.1, redirected to localhost (not allowed): refused where the redirect points.
      const redirect = yield* Effect.flip(RemoteInput.fetchTo(`${origin}/redirect`, target, allowed))
      assert.match(redirect.message, /not a public address/)
    })
  )

  it.effect(
    "refuses a file past the limit (and removes the part), an HTTP error, and a server that never answers",
    () =>
      Effect.gen(function* () {
        const dir = folder()
        const target = async (name: string) => join(dir, name)
        const big = yield* Effect.flip(RemoteInput.fetchTo(`${origin}/big.csv`, target, { ...allowed, maxBytes: 1000 }))
        assert.match(big.message, /larger than/)
        assert.deepStrictEqual(readdirSync(dir), [])
        const missing = yield* Effect.flip(RemoteInput.fetchTo(`${origin}/missing.zip`, target, allowed))
        assert.match(missing.message, /HTTP 404/)
        const silent = yield* Effect.flip(
          RemoteInput.fetchTo(`${origin}/silent`, target, { ...allowed, timeoutMs: 300 })
        )
        assert.match(silent.message, /longer than/)
      })
  )
})
