import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { GeoJobsClient, isTokenError } from "../src/index.ts"
import { rejection } from "./support/Rejection.ts"

// A tiny node:http server playing an ArcGIS Enterprise portal (`/portal`) and a server federated with it (`/server`):
// the server's rest/info names the portal as its owningSystemUrl and the portal's generateToken as its token service;
// the portal issues portal tokens for a username and password, and server tokens for a portal token + serverUrl; the
// server's directory takes only server tokens, answering 498 in the ArcGIS envelope (HTTP 200) otherwise.
let server: Server
let origin = ""
const users: Record<string, string> = { ana: "right password" }

interface Logged {
  readonly path: string
  readonly form: Record<string, string>
}
let log: Array<Logged> = []
let portalTokens = new Map<string, number>()
let serverTokens = new Map<string, number>()
let issued = 0
/** How long the next server tokens live, ms. */
let serverTokenMs = 3_600_000

const json = (response: import("node:http").ServerResponse, doc: unknown) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify(doc))
}
const invalidToken = { error: { code: 498, message: "Invalid token.", details: [] } }
const live = (tokens: Map<string, number>, token: string | undefined) =>
  token !== undefined && (tokens.get(token) ?? 0) > Date.now()

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = ""
    request.on("data", (d) => {
      body += d
    })
    request.on("end", () => {
      const url = new URL(request.url ?? "/", origin)
      const form = Object.fromEntries(new URLSearchParams(request.method === "POST" ? body : url.search))
      log.push({ path: url.pathname, form })
      const portal = `${origin}/portal`
      const tokenServicesUrl = `${portal}/sharing/rest/generateToken`
      switch (url.pathname) {
        case "/portal/sharing/rest/info":
          return json(response, { owningSystemUrl: portal, authInfo: { tokenServicesUrl, isTokenBasedSecurity: true } })
        case "/server/rest/info":
        case "/stranger/rest/info":
          return json(response, {
            currentVersion: 11.3,
            owningSystemUrl: portal,
            authInfo: { isTokenBasedSecurity: true, tokenServicesUrl, shortLivedTokenValidity: 60 }
          })
        case "/portal/sharing/rest/generateToken": {
          if (form.serverUrl !== undefined) {
            if (!live(portalTokens, form.token)) return json(response, invalidToken)
            if (form.serverUrl !== `${origin}/server`) {
              return json(response, {
                error: { code: 400, message: "Unable to generate token.", details: ["Invalid serverUrl."] }
              })
            }
            const token = `server-${++issued}`
            const expires = Date.now() + serverTokenMs
            serverTokens.set(token, expires)
            return json(response, { token, expires, ssl: false })
          }
          if (form.username === undefined || users[form.username] !== form.password) {
            return json(response, {
              error: { code: 400, message: "Unable to generate token.", details: ["Invalid username or password."] }
            })
          }
          const token = `portal-${++issued}`
          const expires = Date.now() + Number(form.expiration ?? "60") * 60_000
          portalTokens.set(token, expires)
          return json(response, { token, expires, ssl: false })
        }
        case "/server/rest/services":
          return live(serverTokens, form.token)
            ? json(response, { currentVersion: 11.3, folders: [], services: [{ name: "Geocode", type: "GPServer" }] })
            : json(response, invalidToken)
        default:
          response.writeHead(404).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
beforeEach(() => {
  log = []
  portalTokens = new Map()
  serverTokens = new Map()
  serverTokenMs = 3_600_000
})

const paths = () => log.map((l) => l.path)
const connect = (password = users.ana) => GeoJobsClient.connect({ url: `${origin}/server`, username: "ana", password })

describe("a server federated with an ArcGIS Enterprise portal", () => {
  it("signs in at the portal, exchanges the portal token for a server token and uses that at the server", async () => {
    const client = await connect()
    await client.services()
    assert.deepStrictEqual(paths(), [
      "/server/rest/info",
      "/portal/sharing/rest/info",
      "/portal/sharing/rest/generateToken",
      "/portal/sharing/rest/generateToken",
      "/server/rest/services"
    ])
    const [, , signIn, exchange, directory] = log
    assert.deepStrictEqual(signIn?.form, {
      username: "ana",
      password: "right password",
      client: "requestip",
      expiration: "60",
      f: "json"
    })
    const portalToken = [...portalTokens.keys()][0]
    assert.deepStrictEqual(exchange?.form, {
      token: portalToken ?? "",
      serverUrl: `${origin}/server`,
      expiration: "60",
      f: "json"
    })
    const serverToken = [...serverTokens.keys()][0]
    assert.isString(serverToken)
    assert.strictEqual(directory?.form.token, serverToken)
    assert.strictEqual(client.token, serverToken)
    assert.strictEqual(client.tokenExpires, serverTokens.get(serverToken ?? ""))
  })

  it("binds the portal sign-in to the referer when one is given", async () => {
    const client = await GeoJobsClient.connect({
      url: `${origin}/server/`,
      username: "ana",
      password: users.ana,
      referer: "https://app.example.com",
      expiration: 30
    })
    const signIn = log.find((l) => l.form.username !== undefined)
    assert.strictEqual(signIn?.form.client, "referer")
    assert.strictEqual(signIn?.form.referer, "https://app.example.com")
    assert.strictEqual(signIn?.form.expiration, "30")
    const exchange = log.find((l) => l.form.serverUrl !== undefined)
    assert.strictEqual(exchange?.form.serverUrl, `${origin}/server`, "the server's base, without the trailing slash")
    assert.strictEqual(exchange?.form.expiration, "30")
    assert.deepStrictEqual((await client.services()).services, [{ name: "Geocode", type: "GPServer" }])
  })

  it("when the server token is about to expire, signs in at the portal and exchanges again before the call", async () => {
    serverTokenMs = 1_000
    const client = await connect()
    const first = client.token
    await new Promise((resolve) => setTimeout(resolve, 600))
    serverTokenMs = 3_600_000
    log = []
    await client.services()
    assert.deepStrictEqual(paths(), [
      "/portal/sharing/rest/generateToken",
      "/portal/sharing/rest/generateToken",
      "/server/rest/services"
    ])
    assert.strictEqual(log[0]?.form.username, "ana")
    assert.isDefined(log[1]?.form.serverUrl)
    assert.notStrictEqual(client.token, first)
    assert.strictEqual(log[2]?.form.token, client.token)
    assert.isTrue(client.token?.startsWith("server-"))
  })

  it("when the server refuses its token (498), does the whole sign-in again and retries once", async () => {
    const client = await connect()
    const first = client.token
    serverTokens.clear()
    log = []
    assert.deepStrictEqual((await client.services()).services, [{ name: "Geocode", type: "GPServer" }])
    assert.deepStrictEqual(paths(), [
      "/server/rest/services",
      "/portal/sharing/rest/generateToken",
      "/portal/sharing/rest/generateToken",
      "/server/rest/services"
    ])
    assert.strictEqual(log[0]?.form.token, first)
    assert.notStrictEqual(client.token, first)
    assert.strictEqual(log[3]?.form.token, client.token)
  })

  it("a portal token at the server is refused: the exchange is what makes it work", async () => {
    await connect()
    const portalToken = [...portalTokens.keys()][0] ?? ""
    const client = await GeoJobsClient.connect({ url: `${origin}/server`, token: portalToken })
    const refused = await rejection(client.services())
    assert.strictEqual(refused.code, 498)
    assert.isTrue(isTokenError(refused))
  })

  it("a wrong password at the portal: a ClientError naming the portal, and no exchange", async () => {
    const error = await rejection(connect("wrong password"))
    assert.strictEqual(error.kind, "server")
    assert.strictEqual(error.code, 400)
    assert.strictEqual(error.url, `${origin}/portal/sharing/rest/generateToken`)
    assert.strictEqual(error.detail, "Unable to generate token.")
    assert.deepStrictEqual(error.details, [
      "Invalid username or password.",
      `Signing in at the portal ${origin}/portal`
    ])
    assert.include(error.message, `${origin}/portal`)
    assert.isFalse(isTokenError(error))
    assert.deepStrictEqual(paths(), [
      "/server/rest/info",
      "/portal/sharing/rest/info",
      "/portal/sharing/rest/generateToken"
    ])
  })

  it("a portal that will not make a token for this server: a ClientError naming the portal and the server", async () => {
    const error = await rejection(
      GeoJobsClient.connect({ url: `${origin}/stranger`, username: "ana", password: users.ana })
    )
    assert.strictEqual(error.kind, "server")
    assert.strictEqual(error.code, 400)
    assert.strictEqual(error.url, `${origin}/portal/sharing/rest/generateToken`)
    assert.deepStrictEqual(error.details, [
      "Invalid serverUrl.",
      `Exchanging the portal token (${origin}/portal) for a token for ${origin}/stranger`
    ])
  })
})
