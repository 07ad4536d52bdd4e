/**
 * `GEOJOBS_DATABASE_POOL_SIZE`: the most connections a node opens to PostgreSQL is two pools of that size and its
 * listener, whatever the load — what an administrator sizes `max_connections` by. Two server processes on one fresh
 * schema, one with pools of 2 and one with the default, each given the same burst of concurrent requests (token
 * checks, submits, status reads); the connections each holds are read from `pg_stat_activity` by the name the node
 * gives them. Skipped when PostgreSQL cannot be reached, unless `GEOJOBS_REQUIRE_PG=1`, which makes that a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { RestJob } from "@geojobs/core"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import { waitFor } from "./support/RunLog.ts"
import { form, get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

const password = "pool size admin password"

describe.skipIf(TestDatabase.unavailable)("GEOJOBS_DATABASE_POOL_SIZE on PostgreSQL", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-pool-"))
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(
    servicesFile,
    "services:\n  - folder: System\n    name: Utilities\n    maxConcurrentJobs: 16\n    tasks: [{tool: Echo}]\n"
  )
  const servers: Array<ServerProcess> = []

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  const node = async (name: string, extra: Record<string, string>) => {
    const server = await start({
      GEOJOBS_DATABASE_URL: TestDatabase.url,
      GEOJOBS_DATABASE_SCHEMA: schema,
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: password,
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_NODE_NAME: name,
      ...extra
    })
    servers.push(server)
    return server
  }

  /** The connections the node holds now: its pools' (`geojobs <name>`) and its listener's. */
  const connections = async (name: string) =>
    Number(
      (
        await Effect.runPromise(
          TestDatabase.admin<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name IN ($1, $2)",
            [`geojobs ${name}`, `geojobs ${name} listener`]
          )
        )
      )[0]?.n
    )

  /**
   * 60 submits and 60 status reads at once, each with a token check, sampling the node's connections meanwhile;
   * answers the most seen (a pool keeps a connection open 10 s after its last use, so the last sample counts every
   * connection opened) and the jobs, which must all finish.
   */
  const burst = async (server: ServerProcess, name: string) => {
    const token = await signIn(server, password)
    const echo = `${server.base}/rest/services/System/Utilities/GPServer/Echo`
    const first = RestJob.schema.parse(await form(`${echo}/submitJob`, { input_string: "x", f: "json", token })).jobId
    let most = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, await connections(name))
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        i % 2 === 0
          ? form(`${echo}/submitJob`, { input_string: `hello ${i}`, f: "json", token })
          : get(`${echo}/jobs/${first}?f=json&token=${token}`)
      )
    )
    sampling = false
    await sampler
    most = Math.max(most, await connections(name))
    const ids = answers.map((a) => RestJob.schema.parse(a).jobId)
    for (const id of ids) {
      await waitFor(
        `job ${id} Succeeded`,
        60_000,
        async () =>
          RestJob.schema.parse(await get(`${echo}/jobs/${id}?f=json&token=${token}`)).jobStatus === "esriJobSucceeded",
        50
      )
    }
    return most
  }

  it("a node with pools of 2 holds at most 5 connections under a burst and runs every job; one by default holds more", async () => {
    // Names of their own (pg_stat_activity lists every connection to the database, other tests' included).
    const [smallName, wideName] = [`pool-small-${process.pid}`, `pool-wide-${process.pid}`]
    const small = await node(smallName, { GEOJOBS_DATABASE_POOL_SIZE: "2" })
    const smallMost = await burst(small, smallName)
    const wide = await node(wideName, {})
    const wideMost = await burst(wide, wideName)
    console.log(`connections held: pools of 2 → ${smallMost}; default pools (10) → ${wideMost}`)
    assert.isAtMost(smallMost, 5, "two pools of 2 and the listener")
    assert.isAtLeast(smallMost, 3, "the burst used both pools and the listener")
    // The same burst opens more than 5 connections without the setting: the limit above is the setting's doing.
    assert.isAbove(wideMost, 5)
    assert.isAtMost(wideMost, 21)
  }, 120_000)
})
