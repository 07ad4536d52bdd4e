import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type PortServer, start } from "./support/PortServer.ts"

// A node of a cluster labels its series with its name, so one Prometheus scraping every node tells them apart.
let server: PortServer
beforeAll(async () => {
  server = await start({ nodeName: "node-m" })
})
afterAll(async () => server.close())

describe("/metrics of a named node", () => {
  it("carries the node's name on every series, the job counts included", async () => {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
    const series = text.split("\n").filter((l) => l.startsWith("geojobs_") && l.includes("{"))
    assert.isAbove(series.length, 5)
    for (const line of series) assert.include(line, 'node="node-m"', line)
    assert.match(text, /^geojobs_queue_depth\{node="node-m"\} \d+$/m)
  })
})
