/**
 * Three server processes on one PostgreSQL schema (issue 11's test): 1,000 jobs submitted across them over HTTP, each
 * run exactly once (the tool logs every run's start and end with its process id), the service's maxConcurrentJobs
 * never exceeded cluster-wide, and the work spread over the nodes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import { type ServerProcess, start } from "./support/ServerProcess.ts"

const jobs = 1000
const limit = 6

describe.skipIf(TestDatabase.unavailable)("three nodes on one PostgreSQL schema, 1,000 jobs", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-thousand-"))
  const log = join(dataDir, "runs.log")
  const nodes: Array<ServerProcess> = []

  beforeAll(async () => {
    writeFileSync(log, "")
    const servicesFile = join(dataDir, "services.yaml")
    writeFileSync(
      servicesFile,
      `services:
  - folder: Test
    name: Counted
    maxConcurrentJobs: ${limit}
    tasks: [{module: ${new URL("./support/RunLogTool.ts", import.meta.url).pathname}}]
`
    )
    const env = (name: string) => ({
      GEOJOBS_DATABASE_URL: TestDatabase.url,
      GEOJOBS_DATABASE_SCHEMA: schema,
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: "thousand admin password",
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_WORKERS: "1",
      GEOJOBS_SLOTS: "4",
      GEOJOBS_NODE_NAME: name
    })
    nodes.push(...(await Promise.all(["t-a", "t-b", "t-c"].map((n) => start(env(n))))))
  }, 90_000)
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  it("runs every job exactly once, never more than the service's limit at once, on all three nodes", async () => {
    const ids: Array<string> = []
    let next = 0
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < jobs) {
          const node = nodes[next % nodes.length] as ServerProcess
          next++
          const response = await fetch(`${node.base}/rest/services/Test/Counted/GPServer/RunLog/submitJob`, {
            method: "POST",
            body: new URLSearchParams({ log, ms: "5", f: "json" })
          })
          const { jobId } = (await response.json()) as { jobId?: string }
          assert.isString(jobId)
          ids.push(jobId as string)
        }
      })
    )
    assert.strictEqual(new Set(ids).size, jobs)
    // Every job ends: counted in the database (a bounded wait, no timing assertion).
    const succeeded = async () =>
      Number(
        (
          await Effect.runPromise(
            TestDatabase.admin<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs WHERE status = 'Succeeded'`)
          )
        )[0]?.n ?? 0
      )
    for (let i = 0; i < 1200 && (await succeeded()) < jobs; i++) await new Promise((r) => setTimeout(r, 100))
    assert.strictEqual(await succeeded(), jobs)

    const events = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const [what, id, pid, at] = line.split(" ")
        return { what: what as string, id: id as string, pid: Number(pid), at: Number(at) }
      })
    const starts = events.filter((e) => e.what === "start")
    assert.strictEqual(starts.length, jobs, "one start per job")
    assert.strictEqual(new Set(starts.map((e) => e.id)).size, jobs, "no job started twice")
    assert.strictEqual(events.filter((e) => e.what === "end").length, jobs, "one end per job")
    assert.sameMembers([...new Set(starts.map((e) => e.id))], ids)
    // At most `limit` runs at once across the nodes: ends before starts at the same millisecond.
    const ordered = [...events].sort((a, b) => a.at - b.at || (a.what === "end" ? -1 : 1) - (b.what === "end" ? -1 : 1))
    let running = 0
    let most = 0
    for (const e of ordered) {
      running += e.what === "start" ? 1 : -1
      most = Math.max(most, running)
    }
    assert.isAtMost(most, limit, "the service's maxConcurrentJobs held across the cluster")
    // And the limit was what held them (more slots than it across the nodes): not true by construction.
    assert.isAtLeast(most, 4, `at most ${most} at once`)
    const perNode = new Map<number, number>()
    for (const e of starts) perNode.set(e.pid, (perNode.get(e.pid) ?? 0) + 1)
    assert.strictEqual(perNode.size, 3, `runs per process: ${JSON.stringify([...perNode])}`)
  }, 180_000)
})
