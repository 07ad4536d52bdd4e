/**
 * Two server processes (`node src/main.ts`) on one fresh PostgreSQL schema and one jobs folder, started at the same
 * moment (the first start of a cluster): a token issued by one node works on the other, jobs submitted to either
 * finish and are readable — documents, results, output files — from the other, and a password changed on one node
 * refuses the user's old tokens on the other at once. Skipped when PostgreSQL cannot be reached, unless
 * `GEOJOBS_REQUIRE_PG=1`, which makes that a failure.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { RestJob } from "@geojobs/core"
import * as TestDatabase from "@geojobs/store-postgres/testing/TestDatabase"
import { Effect } from "effect"
import { redactUrl } from "../src/ServerConfig.ts"
import { form, get, type ServerProcess, signIn, start } from "./support/ServerProcess.ts"

const password = "cluster admin password"

describe.skipIf(TestDatabase.unavailable)("two nodes on one PostgreSQL schema", () => {
  const schema = TestDatabase.schemaName()
  const dataDir = mkdtempSync(join(tmpdir(), "geojobs-cluster-"))
  let a: ServerProcess | undefined
  let b: ServerProcess | undefined
  const node = (): ServerProcess => {
    throw new Error("not started")
  }
  let A = node as unknown as ServerProcess
  let B = node as unknown as ServerProcess

  beforeAll(async () => {
    const servicesFile = join(dataDir, "services.yaml")
    writeFileSync(
      servicesFile,
      `services:
  - folder: System
    name: Utilities
    maxConcurrentJobs: 4
    tasks: [{tool: Echo}, {module: ${new URL("./support/ReportTool.ts", import.meta.url).pathname}}]
  - folder: Analysis
    name: DataConversion
    uploads: true
    tasks: [{tool: ConvertFeatures}]
`
    )
    const env = (name: string) => ({
      GEOJOBS_DATABASE_URL: TestDatabase.url,
      GEOJOBS_DATABASE_SCHEMA: schema,
      GEOJOBS_DATA_DIR: dataDir,
      GEOJOBS_SERVICES: servicesFile,
      GEOJOBS_ADMIN_PASSWORD: password,
      GEOJOBS_LOG_LEVEL: "silent",
      GEOJOBS_WORKERS: "2",
      GEOJOBS_NODE_NAME: name
    })
    // Together, on a schema that does not exist yet: migrations and the admin bootstrap race, and both must start.
    const started = await Promise.allSettled([start(env("node-a")), start(env("node-b"))])
    a = started[0].status === "fulfilled" ? started[0].value : undefined
    b = started[1].status === "fulfilled" ? started[1].value : undefined
    const failed = started.find((s) => s.status === "rejected")
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    A = a as ServerProcess
    B = b as ServerProcess
  }, 60_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await Effect.runPromise(TestDatabase.dropSchema(schema))
    rmSync(dataDir, { recursive: true, force: true })
  }, 30_000)

  const utilities = (server: ServerProcess) => `${server.base}/rest/services/System/Utilities/GPServer`

  /** Polls a job on `server` until it is terminal; answers its last document. */
  const finished = async (server: ServerProcess, task: string, jobId: string, token: string) => {
    // Up to a minute: on a loaded CI machine a node's first tool thread starts slowly.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const job = RestJob.schema.parse(await get(`${utilities(server)}/${task}/jobs/${jobId}?f=json&token=${token}`))
      if (["esriJobSucceeded", "esriJobFailed", "esriJobCancelled", "esriJobTimedOut"].includes(job.jobStatus))
        return job
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`job ${jobId} did not finish on ${server.base}`)
  }

  it("both started together on the fresh schema, each printing its node name and the redacted store", async () => {
    for (const [server, name] of [
      [A, "node-a"],
      [B, "node-b"]
    ] as const) {
      await server.waitForOutput("job files:")
      assert.include(server.output(), `(node ${name}, role all)`)
      assert.include(server.output(), `stores:             PostgreSQL ${redactUrl(TestDatabase.url)}, schema ${schema}`)
    }
    // One admin bootstrap created the user; neither node printed a generated password.
    assert.notInclude(A.output() + B.output(), "generated password")
  })

  it("/health names each node", async () => {
    assert.deepStrictEqual(await get(`${A.origin}/health`), { status: "ok", node: "node-a" })
    assert.deepStrictEqual(await get(`${B.origin}/health`), { status: "ok", node: "node-b" })
  })

  it("a token issued by node A works on node B", async () => {
    const token = await signIn(A, password)
    assert.isString(token)
    const users = await get(`${B.base}/admin/security/users?f=json&token=${token}`)
    assert.deepStrictEqual(
      (users.users as Array<{ username: string }>).map((u) => u.username),
      ["admin"]
    )
  })

  it("jobs submitted to A and to B finish, and each is readable from the other node, output files included", async () => {
    const token = await signIn(A, password)
    const submit = async (server: ServerProcess, task: string, fields: Record<string, string>) =>
      RestJob.schema.parse(await form(`${utilities(server)}/${task}/submitJob`, { ...fields, f: "json", token })).jobId
    const echoes = await Promise.all(
      [A, B, A, B, A, B].map(async (server, i) => ({
        server,
        other: server === A ? B : A,
        text: `hello ${i}`,
        jobId: await submit(server, "Echo", { input_string: `hello ${i}` })
      }))
    )
    for (const { other, text, jobId } of echoes) {
      assert.strictEqual((await finished(other, "Echo", jobId, token)).jobStatus, "esriJobSucceeded")
      const result = await get(`${utilities(other)}/Echo/jobs/${jobId}/results/output_string?f=json&token=${token}`)
      assert.strictEqual(result.value, text)
    }
    const pids = new Set([String(A.child.pid), String(B.child.pid)])
    for (const [server, other] of [
      [A, B],
      [B, A]
    ] as const) {
      const jobId = await submit(server, "Report", { title: `from ${server.base}` })
      assert.strictEqual((await finished(other, "Report", jobId, token)).jobStatus, "esriJobSucceeded")
      const result = (await get(`${utilities(other)}/Report/jobs/${jobId}/results/report?f=json&token=${token}`)) as {
        value: { url: string }
      }
      const file = new URL(result.value.url)
      // Served by the node that did not take the submission, from the shared jobs folder.
      const text = await (await fetch(`${other.origin}${file.pathname}?token=${token}`)).text()
      const ran = /^Report: from (\S+); ran in (\d+)\n$/.exec(text)
      assert.isNotNull(ran, text)
      assert.strictEqual(ran?.[1], server.base)
      assert.isTrue(pids.has(ran?.[2] ?? ""), `ran in ${ran?.[2]}, not in ${[...pids].join(" or ")}`)
    }
  })

  it("an item uploaded through A is used by jobs submitted to B (the uploads folder is shared)", async () => {
    const token = await signIn(A, password)
    const conversion = (server: ServerProcess) => `${server.base}/rest/services/Analysis/DataConversion/GPServer`
    const body = new FormData()
    body.append("f", "json")
    const csv = "name,x,y\nBerlin,13.4,52.5\nParis,2.35,48.86\n"
    body.append("file", new Blob([csv], { type: "text/csv" }), "cities.csv")
    body.append("token", token)
    const uploaded = (await (await fetch(`${conversion(A)}/uploads/upload`, { method: "POST", body })).json()) as {
      item: { itemID: string }
    }
    const itemID = uploaded.item.itemID
    assert.strictEqual((await get(`${conversion(B)}/uploads/${itemID}?f=json&token=${token}`)).itemID, itemID)
    const jobIds = await Promise.all(
      [B, B, B].map(
        async (server) =>
          RestJob.schema.parse(
            await form(`${conversion(server)}/ConvertFeatures/submitJob`, {
              Input_File: JSON.stringify({ itemID }),
              Output_Format: "featureset",
              f: "json",
              token
            })
          ).jobId
      )
    )
    for (const jobId of jobIds) {
      let job = RestJob.schema.parse(await get(`${conversion(A)}/ConvertFeatures/jobs/${jobId}?f=json&token=${token}`))
      for (let i = 0; i < 1200 && !["esriJobSucceeded", "esriJobFailed"].includes(job.jobStatus); i++) {
        await new Promise((r) => setTimeout(r, 50))
        job = RestJob.schema.parse(await get(`${conversion(A)}/ConvertFeatures/jobs/${jobId}?f=json&token=${token}`))
      }
      assert.strictEqual(job.jobStatus, "esriJobSucceeded", JSON.stringify(job))
      const result = (await get(
        `${conversion(A)}/ConvertFeatures/jobs/${jobId}/results/Output_Features?f=json&token=${token}`
      )) as { value: { features: Array<unknown> } }
      assert.strictEqual(result.value.features.length, 2)
    }
  })

  it("a password changed on A refuses the user's old token on B at once (498)", async () => {
    const old = await signIn(A, password)
    const onB = `${B.base}/admin/security/users?f=json&token=${old}`
    assert.isArray((await get(onB)).users)
    const changed = await form(`${A.base}/admin/security/users/update`, {
      username: "admin",
      password: "the new cluster password",
      f: "json",
      token: old
    })
    assert.deepStrictEqual(changed, { status: "success" })
    // On B at once: the admin API in its envelope, the REST API in its own.
    assert.deepInclude(await get(onB), { status: "error", code: 498 })
    const rest = (await get(`${utilities(B)}?f=json&token=${old}`)) as { error?: { code: number } }
    assert.strictEqual(rest.error?.code, 498)
    // The new password signs in on B, and an old-password sign-in is refused there.
    const fresh = await signIn(B, "the new cluster password")
    assert.isArray((await get(`${A.base}/admin/security/users?f=json&token=${fresh}`)).users)
    const wrong = await form(`${B.base}/tokens/generateToken`, {
      username: "admin",
      password,
      client: "requestip",
      f: "json"
    })
    assert.isDefined(wrong.error)
  })
})
