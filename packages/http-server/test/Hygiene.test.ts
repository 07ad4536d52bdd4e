// Web hygiene on a real socket: bad input never answers 500 (deep JSON, malformed cookies, over-long URLs, garbage
// bytes), HEAD answers carry no body, refused JSONP callbacks are not JavaScript, caching and HSTS headers, proxy
// headers trusted only when configured, slow clients dropped, CORS, and who may read /metrics.
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ErrorEnvelope } from "@geojobs/core"
import * as PortServer from "./support/PortServer.ts"
import { bodyOf, head, raw, statusOf } from "./support/RawHttp.ts"

let server: PortServer.PortServer
beforeAll(async () => {
  server = await PortServer.start()
})
afterAll(async () => server.close())

const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
const echo = "/rest/services/System/Utilities/GPServer/Echo"

const restError = async (response: Response) => {
  const text = await response.text()
  assert.notInclude(text, "Maximum call stack")
  return ErrorEnvelope.restSchema.parse(JSON.parse(text)).error
}

describe("deep JSON", () => {
  it("a form field nested 10,000 levels answers 400 naming the parameter", async () => {
    for (const path of [`${echo}/submitJob`, "/rest/services/System/SyncTools/GPServer/Echo/execute"]) {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        body: new URLSearchParams({ f: "json", input_string: deep(10_000) })
      })
      assert.strictEqual(response.status, 200)
      const error = await restError(response)
      assert.strictEqual(error.code, 400)
      assert.isTrue(error.details.some((d) => d.includes("input_string")))
    }
  })

  it("a big form body (parsed off the main thread) is read exactly and checked for depth just the same", async () => {
    const big = `ü&=+%${"x".repeat(300_000)}`
    const body = new URLSearchParams({ f: "json", input_string: "first" })
    body.append("input_string", big) // repeated: the last one counts, as for a small body
    const submitted = await fetch(`${server.url}${echo}/submitJob`, { method: "POST", body })
    const { jobId } = (await submitted.json()) as { jobId: string }
    assert.isString(jobId)
    const input = await fetch(`${server.url}${echo}/jobs/${jobId}/inputs/input_string?f=json`)
    assert.strictEqual(((await input.json()) as { value: string }).value, big)
    const refused = await fetch(`${server.url}${echo}/submitJob`, {
      method: "POST",
      body: new URLSearchParams({ f: "json", padding: "y".repeat(200_000), input_string: deep(10_000) })
    })
    const error = await restError(refused)
    assert.strictEqual(error.code, 400)
    assert.isTrue(error.details.some((d) => d.includes("input_string")))
  })

  it("a big JSON body (parsed off the main thread) reads as a small one does; bad ones answer 400", async () => {
    const big = `ü"\\${"x".repeat(300_000)}`
    const post = (body: string) =>
      fetch(`${server.url}${echo}/submitJob?f=json`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body
      })
    const submitted = await post(JSON.stringify({ f: "json", input_string: big, padding: [1, { a: 2 }] }))
    const { jobId } = (await submitted.json()) as { jobId: string }
    assert.isString(jobId)
    const input = await fetch(`${server.url}${echo}/jobs/${jobId}/inputs/input_string?f=json`)
    assert.strictEqual(((await input.json()) as { value: string }).value, big)
    const pad = "y".repeat(100_000)
    for (const [body, names] of [
      [`{"padding":"${pad}","input_string":${deep(10_000)}}`, "input_string"],
      [`{"padding":"${pad}","input_string":`, "JSON"],
      [`{"padding":"${pad}","__proto__":{"x":1}}`, "JSON"]
    ] as const) {
      const error = await restError(await post(body))
      assert.strictEqual(error.code, 400)
      assert.isTrue(
        error.details.some((d) => d.includes(names)),
        `${body.slice(-40)}: ${error.details.join("; ")}`
      )
    }
  })

  it("a query parameter nested 2,000 levels answers 400 naming it, also on a directory page", async () => {
    const response = await fetch(`${server.url}/rest/info?f=json&where=${encodeURIComponent(deep(2_000))}`)
    const error = await restError(response)
    assert.strictEqual(error.code, 400)
    assert.isTrue(error.details.some((d) => d.includes("where")))
  })

  it("a JSON body nested 10,000 levels answers 400 in the envelope, never 500", async () => {
    for (const body of [
      `{"f":"json","input_string":${deep(10_000)}}`,
      `{"f":"json","input_string":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`,
      deep(10_000)
    ]) {
      const response = await fetch(`${server.url}${echo}/submitJob?f=json`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body
      })
      const error = await restError(response)
      assert.strictEqual(error.code, 400)
    }
  })

  it("ordinary nesting (an Esri feature set) is still accepted", async () => {
    const features = JSON.stringify({ features: [{ geometry: { rings: [[[0, 0]]] }, attributes: { a: 1 } }] })
    const response = await fetch(`${server.url}${echo}/submitJob`, {
      method: "POST",
      body: new URLSearchParams({ f: "json", input_string: features })
    })
    const doc = (await response.json()) as { jobId?: string }
    assert.isString(doc.jobId)
  })
})

describe("malformed cookies", () => {
  const cookie = "a=%zz; geojobs_token=%E0%A4%A"
  it("HTML pages and JSON routes answer normally or 498, never 500", async () => {
    for (const path of ["/rest/services", "/rest/services?f=json", "/rest/info?f=json", `${echo}?f=json`]) {
      const response = await fetch(`${server.url}${path}`, { headers: { cookie } })
      assert.isBelow(response.status, 500, path)
      const text = await response.text()
      if (path.includes("f=json")) {
        const doc = JSON.parse(text) as { error?: { code: number } }
        assert.notStrictEqual(doc.error?.code, 500, path)
      } else assert.include(text, "<!doctype html>")
    }
  })
})

describe("malformed cookies on sign-out", () => {
  // TokenApi's logout decoded the cookie with decodeURIComponent outside a try (a 500); it reads it like every route now.
  it("sign-out with an undecodable cookie answers normally", async () => {
    for (const path of ["/rest/logout", "/admin/logout"]) {
      const response = await fetch(`${server.url}${path}`, {
        headers: { cookie: "a=%zz; geojobs_token=%E0%A4%A" },
        redirect: "manual"
      })
      assert.isBelow(response.status, 500, path)
    }
  })
})

describe("over-long URLs and malformed HTTP", () => {
  it("a 100 KB path or query answers 414 in the envelope", async () => {
    for (const target of [
      `/arcgis/rest/services/${"a".repeat(100_000)}`,
      `/arcgis/rest/info?f=json&x=${"b".repeat(100_000)}`
    ]) {
      const answer = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
      assert.strictEqual(statusOf(answer), 414)
      assert.strictEqual(ErrorEnvelope.restSchema.parse(JSON.parse(bodyOf(answer))).error.code, 414)
    }
  })

  it("headers over Node's limit answer 431 in the envelope", async () => {
    const answer = await raw(
      server.port,
      `GET /arcgis/rest/info?f=json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"c".repeat(20_000)}\r\n\r\n`
    )
    assert.strictEqual(statusOf(answer), 431)
    assert.strictEqual(ErrorEnvelope.restSchema.parse(JSON.parse(bodyOf(answer))).error.code, 431)
  })

  it("garbage bytes answer 400 in the envelope, and the server keeps serving", async () => {
    for (const garbage of [
      "GARBAGE\r\n\r\n",
      "\u0000\u0001\u0002\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost\r\n\r\n"
    ]) {
      const answer = await raw(server.port, garbage)
      assert.strictEqual(statusOf(answer), 400, JSON.stringify(garbage))
      assert.strictEqual(ErrorEnvelope.restSchema.parse(JSON.parse(bodyOf(answer))).error.code, 400)
    }
    const fine = await fetch(`${server.url}/rest/info?f=json`)
    assert.strictEqual(fine.status, 200)
  })
})

describe("HEAD", () => {
  it("answers carry headers and no body: JSON, HTML, errors", async () => {
    for (const path of ["/rest/info?f=json", "/rest/services", "/rest/services/Nope/GPServer?f=json", "/rest/login"]) {
      const answer = await raw(
        server.port,
        `HEAD /arcgis${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`
      )
      assert.strictEqual(statusOf(answer) < 500, true, path)
      assert.strictEqual(bodyOf(answer), "", path)
      const viaHttp = await head(`${server.url}${path}`)
      assert.strictEqual(viaHttp.bodyBytes, 0)
    }
  })
})

describe("JSONP", () => {
  it("a refused callback answers the JSON error as application/json, not JavaScript", async () => {
    const response = await fetch(`${server.url}/rest/info?f=json&callback=${encodeURIComponent("alert(1)//")}`)
    assert.match(String(response.headers.get("content-type")), /^application\/json/)
    const error = await restError(response)
    assert.strictEqual(error.code, 400)
    assert.isTrue(error.details.some((d) => d.includes("callback")))
  })

  it("a plain identifier is served as JavaScript, errors included", async () => {
    const ok = await fetch(`${server.url}/rest/info?f=json&callback=cb.done`)
    assert.match(String(ok.headers.get("content-type")), /^application\/javascript/)
    assert.match(await ok.text(), /^cb\.done\(/)
    const failed = await fetch(`${server.url}/rest/services/Nope/GPServer?f=json&callback=cb`)
    assert.match(String(failed.headers.get("content-type")), /^application\/javascript/)
    assert.match(await failed.text(), /^cb\(\{"error"/)
  })
})

describe("the sign-in cookie changes nothing by GET or from another site", () => {
  it("HTML cancel: GET answers 405; a POST from another origin is anonymous; our own page's POST cancels", async () => {
    const token = await server.token("analyst")
    const cookie = `geojobs_token=${encodeURIComponent(token)}`
    const utilities = "/rest/services/System/Utilities/GPServer/Sleep"
    const submitted = await fetch(`${server.url}${utilities}/submitJob`, {
      method: "POST",
      body: new URLSearchParams({ f: "json", seconds: "60", token })
    })
    const { jobId } = (await submitted.json()) as { jobId: string }
    const cancelUrl = `${server.url}${utilities}/jobs/${jobId}/cancel`
    const status = async () => {
      const r = await fetch(`${server.url}${utilities}/jobs/${jobId}?f=json&token=${token}`)
      return ((await r.json()) as { jobStatus: string }).jobStatus
    }
    const viaGet = await fetch(`${cancelUrl}?f=html`, { headers: { cookie }, redirect: "manual" })
    assert.strictEqual(viaGet.status, 405)
    const foreign = await fetch(cancelUrl, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example" },
      body: new URLSearchParams({ f: "html" }),
      redirect: "manual"
    })
    assert.notStrictEqual(foreign.status, 303, "not cancelled from another origin")
    assert.notInclude(["esriJobCancelling", "esriJobCancelled"], await status())
    const own = await fetch(cancelUrl, {
      method: "POST",
      headers: { cookie, origin: new URL(server.url).origin },
      body: new URLSearchParams({ f: "html" }),
      redirect: "manual"
    })
    assert.oneOf(own.status, [302, 303])
    assert.include(["esriJobCancelling", "esriJobCancelled"], await status())
  })
})

describe("caching and HSTS", () => {
  it("signed-in answers and sign-in pages carry Cache-Control: no-store", async () => {
    const token = await server.token("analyst")
    const pages = [
      { path: "/rest/services", headers: { cookie: `geojobs_token=${encodeURIComponent(token)}` } },
      { path: `/rest/services?token=${token}`, headers: {} },
      { path: "/rest/services", headers: { authorization: `Bearer ${token}` } },
      { path: "/rest/login", headers: {} },
      { path: "/admin/login", headers: {} },
      { path: "/tokens/generateToken", headers: {} },
      { path: `/rest/info?f=json&token=${token}`, headers: {} }
    ]
    for (const { path, headers } of pages) {
      const response = await fetch(`${server.url}${path}`, { headers })
      assert.strictEqual(response.headers.get("cache-control"), "no-store", path)
    }
  })

  it("sends Strict-Transport-Security only over HTTPS", async () => {
    const plain = await fetch(`${server.url}/rest/services`, { headers: { "x-forwarded-proto": "https" } })
    assert.isNull(plain.headers.get("strict-transport-security"))
    const behindProxy = await PortServer.start({ trustProxy: true })
    try {
      const secure = await fetch(`${behindProxy.url}/rest/services`, { headers: { "x-forwarded-proto": "https" } })
      assert.match(String(secure.headers.get("strict-transport-security")), /max-age=\d+/)
      const json = await fetch(`${behindProxy.url}/rest/info?f=json`, { headers: { "x-forwarded-proto": "https" } })
      assert.match(String(json.headers.get("strict-transport-security")), /max-age=\d+/)
      const insecure = await fetch(`${behindProxy.url}/rest/services`)
      assert.isNull(insecure.headers.get("strict-transport-security"))
    } finally {
      await behindProxy.close()
    }
  })
})

describe("proxy headers", () => {
  const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" }
  const tokenUrl = async (url: string) => {
    const response = await fetch(`${url}/rest/info?f=json`, { headers: forwarded })
    return ((await response.json()) as { authInfo: { tokenServicesUrl: string } }).authInfo.tokenServicesUrl
  }

  it("are ignored by default", async () => {
    assert.strictEqual(await tokenUrl(server.url), `${server.url}/tokens/`)
  })

  it("are trusted with trustProxy", async () => {
    const behindProxy = await PortServer.start({ trustProxy: true })
    try {
      assert.strictEqual(await tokenUrl(behindProxy.url), "https://evil.example/arcgis/tokens/")
    } finally {
      await behindProxy.close()
    }
  })
})

describe("slow clients", () => {
  it("a socket that sends half a header line and then nothing is closed by the server", async () => {
    const slow = await PortServer.start({ headersTimeoutMs: 300, connectionTimeoutMs: 60_000 })
    try {
      const answer = await raw(slow.port, "GET /arcgis/rest/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a", 10_000)
      assert.isTrue(answer.closed)
    } finally {
      await slow.close()
    }
  })

  it("an idle socket is closed after connectionTimeoutMs", async () => {
    const slow = await PortServer.start({ connectionTimeoutMs: 300 })
    try {
      const answer = await raw(slow.port, "GET /arcgis/rest/in", 10_000)
      assert.isTrue(answer.closed)
    } finally {
      await slow.close()
    }
  })
})

describe("CORS", () => {
  const origin = "https://app.example"
  const preflight = (url: string, from: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        origin: from,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization"
      }
    })

  it("the REST API reflects any origin by default, without credentials", async () => {
    const answer = await preflight(`${server.url}${echo}/submitJob`, origin)
    assert.strictEqual(answer.status, 204)
    assert.strictEqual(answer.headers.get("access-control-allow-origin"), origin)
    assert.include(String(answer.headers.get("access-control-allow-methods")), "POST")
    assert.isNull(answer.headers.get("access-control-allow-credentials"))
    const get = await fetch(`${server.url}/rest/info?f=json`, { headers: { origin } })
    assert.strictEqual(get.headers.get("access-control-allow-origin"), origin)
    assert.include(String(get.headers.get("vary")), "Origin")
    assert.isNull(get.headers.get("access-control-allow-credentials"))
  })

  it("the OGC API is open cross-origin as the REST API is; an undecodable OGC URL is an OGC exception", async () => {
    const root = `http://127.0.0.1:${server.port}/ogcapi`
    const answer = await preflight(`${root}/processes/System.Utilities.Echo/execution`, origin)
    assert.strictEqual(answer.status, 204)
    assert.strictEqual(answer.headers.get("access-control-allow-origin"), origin)
    const landing = await fetch(`${root}/?f=json`, { headers: { origin } })
    assert.strictEqual(landing.headers.get("access-control-allow-origin"), origin)
    const bad = await fetch(`${root}/jobs/%zz`)
    assert.strictEqual(bad.status, 400)
    const exception = (await bad.json()) as { type?: string; status?: number; detail?: string }
    assert.strictEqual(exception.status, 400)
    assert.match(String(exception.type), /^http:\/\/www\.opengis\.net\/def\/exceptions\//)
    assert.include(String(exception.detail), "decoded")
  })

  it("ogcPath moves the OGC API", async () => {
    const moved = await PortServer.start({ ogcPath: "/processes-api" })
    try {
      const landing = await fetch(`http://127.0.0.1:${moved.port}/processes-api/?f=json`)
      assert.strictEqual(landing.status, 200)
      const links = ((await landing.json()) as { links: Array<{ href: string }> }).links
      assert.isTrue(links.some((l) => l.href.includes("/processes-api/processes")))
      const old = (await (await fetch(`http://127.0.0.1:${moved.port}/ogcapi/?f=json`)).json()) as { error?: unknown }
      assert.isDefined(old.error, "the default path is no longer the OGC API")
    } finally {
      await moved.close()
    }
  })

  it("the admin API is closed cross-origin by default", async () => {
    const answer = await preflight(`${server.url}/admin/services/System/Utilities.GPServer/jobs/query`, origin)
    assert.isNull(answer.headers.get("access-control-allow-origin"))
    const get = await fetch(`${server.url}/admin/services/System/Utilities.GPServer/jobs/query?f=json`, {
      headers: { origin }
    })
    assert.isNull(get.headers.get("access-control-allow-origin"))
    const metrics = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers: { origin } })
    assert.isNull(metrics.headers.get("access-control-allow-origin"))
  })

  it("allowedOrigins restricts the REST API to the listed origins, with credentials; adminAllowedOrigins opens the admin API", async () => {
    const listed = await PortServer.start({ allowedOrigins: [origin], adminAllowedOrigins: [origin] })
    try {
      const yes = await preflight(`${listed.url}${echo}/submitJob`, origin)
      assert.strictEqual(yes.headers.get("access-control-allow-origin"), origin)
      assert.strictEqual(yes.headers.get("access-control-allow-credentials"), "true")
      const no = await preflight(`${listed.url}${echo}/submitJob`, "https://other.example")
      assert.isNull(no.headers.get("access-control-allow-origin"))
      assert.isNull(no.headers.get("access-control-allow-credentials"))
      const admin = await preflight(`${listed.url}/admin/services/System/Utilities.GPServer/jobs/query`, origin)
      assert.strictEqual(admin.headers.get("access-control-allow-origin"), origin)
    } finally {
      await listed.close()
    }
  })

  it("never sends credentials with a wildcard origin", async () => {
    const wildcard = await PortServer.start({ allowedOrigins: ["*"] })
    try {
      const answer = await preflight(`${wildcard.url}${echo}/submitJob`, origin)
      const allowed = answer.headers.get("access-control-allow-origin")
      assert.isNotNull(allowed)
      assert.isFalse(allowed === "*" && answer.headers.get("access-control-allow-credentials") === "true")
    } finally {
      await wildcard.close()
    }
  })
})

describe("/metrics", () => {
  it("is served to loopback clients by default and refused to others (as a trusted proxy reports them)", async () => {
    const local = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    assert.strictEqual(local.status, 200)
    assert.include(await local.text(), "geojobs_jobs")
    const behindProxy = await PortServer.start({ trustProxy: true })
    try {
      const remote = await fetch(`http://127.0.0.1:${behindProxy.port}/metrics`, {
        headers: { "x-forwarded-for": "203.0.113.9" }
      })
      assert.notInclude(await remote.text(), "geojobs_jobs")
      assert.strictEqual(remote.status, 403)
    } finally {
      await behindProxy.close()
    }
  })

  it("with metricsToken, needs it as a bearer token from everyone", async () => {
    const guarded = await PortServer.start({ metricsToken: "scrape-secret" })
    try {
      const without = await fetch(`http://127.0.0.1:${guarded.port}/metrics`)
      assert.strictEqual(without.status, 403)
      const wrong = await fetch(`http://127.0.0.1:${guarded.port}/metrics`, {
        headers: { authorization: "Bearer nope" }
      })
      assert.strictEqual(wrong.status, 403)
      const right = await fetch(`http://127.0.0.1:${guarded.port}/metrics`, {
        headers: { authorization: "Bearer scrape-secret" }
      })
      assert.strictEqual(right.status, 200)
      assert.include(await right.text(), "geojobs_jobs")
      const health = await fetch(`http://127.0.0.1:${guarded.port}/health`)
      assert.strictEqual(health.status, 200)
    } finally {
      await guarded.close()
    }
  })
})
