import { createServer, request } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import * as UrlGuard from "../src/UrlGuard.ts"

describe("UrlGuard", () => {
  it("tells public addresses from loopback, private, link-local, unique-local and other special ones", () => {
    for (const a of ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
      assert.isTrue(UrlGuard.isPublicAddress(a), a)
    for (const a of [
      "127.0.0.1",
      "127.8.9.10",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::127.0.0.1",
      "::ffff:10.0.0.1",
      "ff02::1",
      "not an address"
    ])
      assert.isFalse(UrlGuard.isPublicAddress(a), a)
  })

  it("refuses other schemes, credentials and literal addresses that are not public unless the host is allowed", () => {
    assert.strictEqual(UrlGuard.problem("https://hooks.example.com/x"), undefined)
    assert.match(UrlGuard.problem("ftp://hooks.example.com/x") ?? "", /only http and https/)
    assert.match(UrlGuard.problem("file:///etc/passwd") ?? "", /only http and https/)
    assert.match(UrlGuard.problem("https://u:p@hooks.example.com/x") ?? "", /user name or password/)
    assert.match(UrlGuard.problem("http://127.0.0.1:9/x") ?? "", /127\.0\.0\.1 is not a public address/)
    assert.match(UrlGuard.problem("http://[::1]:9/x") ?? "", /::1 is not a public address/)
    assert.match(UrlGuard.problem("http://169.254.169.254/latest/meta-data") ?? "", /not a public address/)
    assert.strictEqual(UrlGuard.problem("http://127.0.0.1:9/x", ["127.0.0.1"]), undefined)
    assert.match(UrlGuard.problem("nonsense") ?? "", /not a URL/)
  })

  it("refuses, in the connection's own lookup, a name that resolves to loopback (unless the host is allowed)", async () => {
    const server = createServer((_q, r) => r.end("ok"))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as { port: number }).port
    const get = (allowed: ReadonlyArray<string>) =>
      new Promise<string>((resolve) => {
        const url = new URL(`http://localhost:${port}/`)
        const r = request(url, { lookup: UrlGuard.lookup(url, allowed) as never, family: 4 }, (response) => {
          response.resume()
          resolve(`HTTP ${response.statusCode}`)
        })
        r.on("error", (e: NodeJS.ErrnoException) => resolve(`${e.code}: ${e.message}`))
        r.end()
      })
    try {
      const refused = await get([])
      assert.match(refused, /^EREFUSEDADDRESS: localhost resolves to 127\.0\.0\.1, which is not a public address/)
      assert.strictEqual(await get(["localhost"]), "HTTP 200")
    } finally {
      server.close()
    }
  })
})
