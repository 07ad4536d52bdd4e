/**
 * `pnpm bench:http`: an authenticated GET of a job's REST document and of the seed admin document, beside a bare
 * Fastify route answering a JSON document of the same size, in the same run (autocannon, 50 connections, loopback).
 * Servers run in their own processes; prints req/s, p99 and the ratio to the bare route, and appends them to
 * BENCHMARKS.md with the date. `pnpm bench:http` then runs `bench/jobs.ts --append` (issue 13: the job workloads
 * over HTTP beside the engine alone and the bare route); `node bench/http.ts` alone runs only the status reads.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import autocannon from "autocannon"

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = 50
const serve = new URL("./serve.ts", import.meta.url).pathname

const start = (args: ReadonlyArray<string>) =>
  new Promise<{ child: ChildProcess; info: Record<string, unknown> }>((resolve, reject) => {
    const child = spawn(process.execPath, [serve, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout?.on("data", (d) => {
      out += String(d)
      const line = out.split("\n").find((l) => l.startsWith("{"))
      if (line) resolve({ child, info: JSON.parse(line) as Record<string, unknown> })
    })
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)))
  })

const load = async (url: string) => {
  await autocannon({ url, connections, duration: 2 }) // warm-up
  const result = await autocannon({ url, connections, duration: seconds })
  return {
    rps: Math.round(result.requests.average),
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    bytes: result.throughput.average
  }
}

const dir = mkdtempSync(join(tmpdir(), "geojobs-bench-http-"))
const geojobs = await start(["geojobs", dir])
const { port, jobId, token } = geojobs.info as { port: number; jobId: string; token: string }
const restUrl = `http://127.0.0.1:${port}/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/${jobId}?f=json&token=${token}`
const adminUrl = `http://127.0.0.1:${port}/arcgis/admin/services/System/Utilities.GPServer/jobs/${jobId}?f=json&token=${token}`
const restSize = (await (await fetch(restUrl)).text()).length
const adminSize = (await (await fetch(adminUrl)).text()).length
const bareRest = await start(["bare", String(restSize)])
const bareAdmin = await start(["bare", String(adminSize)])
const rows = [
  {
    label: "bare Fastify route, same size as the REST document",
    size: restSize,
    ...(await load(`http://127.0.0.1:${bareRest.info.port}/job/${jobId}`))
  },
  { label: "GeoJobs REST job document (token)", size: restSize, ...(await load(restUrl)) },
  {
    label: "bare Fastify route, same size as the admin document",
    size: adminSize,
    ...(await load(`http://127.0.0.1:${bareAdmin.info.port}/job/${jobId}`))
  },
  { label: "GeoJobs admin job document, the seed (token)", size: adminSize, ...(await load(adminUrl)) }
]
for (const s of [geojobs, bareRest, bareAdmin]) s.child.kill("SIGTERM")
rmSync(dir, { recursive: true, force: true })

const ratio = (i: number, bare: number) => ((rows[i]?.rps ?? 0) / (rows[bare]?.rps ?? 1)).toFixed(2)
const table = [
  "| route | body | req/s | p99 | errors | ratio to bare |",
  "| --- | --- | --- | --- | --- | --- |",
  ...rows.map(
    (r, i) =>
      `| ${r.label} | ${r.size} B | ${r.rps} | ${r.p99} ms | ${r.errors} | ${i % 2 === 0 ? "1.00" : ratio(i, i - 1)} |`
  )
].join("\n")
const conditions = `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), autocannon ${connections} connections, ${seconds} s per route after a 2 s warm-up, each server in its own process on 127.0.0.1.`
console.log(table)
console.log(conditions)
const file = new URL("../../../BENCHMARKS.md", import.meta.url)
if (!existsSync(file))
  writeFileSync(
    file,
    "# Benchmarks\n\nFigures from `pnpm bench:*`, newest last. Each run measures GeoJobs beside a baseline in the same run.\n"
  )
appendFileSync(file, `\n## http — ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${conditions}\n`)
