/**
 * `pnpm bench:load` (issue 10): is the server still responsive while large jobs are submitted and run? Starts the real
 * server (`apps/server`, the sample services file, SQLite in a temporary folder, default workers) in its own process
 * and, from this one, probes `GET /health` and a finished job's status (`GET …/Buffer/jobs/<id>?f=json`) at a fixed
 * rate, open loop (a probe is sent on schedule whether or not the last one has answered):
 *
 * - baseline: the server idle (`--baseline` probes in all, default 2,000 at 200/s);
 * - under load: the same probes while `--jobs` Buffer jobs (default 200) with a `--size-mb` body (default 3 MB,
 *   Esri JSON polygons) are submitted `--concurrency` at a time (default 20) and run to completion.
 *
 * Reports probe latency p50/p95/p99/max, submit latency, total time, jobs finished and failed, the server's peak RSS
 * (`VmHWM`, workers included) and its main thread's event-loop delay (`bench/loop-delay.ts`, preloaded), as a table
 * and a markdown block. `--cpu-prof <dir>` runs the server under `node --cpu-prof` and prints the top self-time
 * functions of the profile. `--help` lists every flag.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import http from "node:http"
import { availableParallelism, cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { dataText } from "@geojobs/fixtures"
import * as Proc from "@geojobs/fixtures/Proc"

const { values: flags } = parseArgs({
  options: {
    jobs: { type: "string", default: "200" },
    "size-mb": { type: "string", default: "3" },
    concurrency: { type: "string", default: "20" },
    rate: { type: "string", default: "200" },
    baseline: { type: "string", default: "2000" },
    features: { type: "string", default: "200" },
    vertices: { type: "string", default: "64" },
    "log-level": { type: "string", default: "info" },
    "timeout-s": { type: "string", default: "900" },
    "cpu-prof": { type: "string" },
    "probe-sockets": { type: "string", default: "2" },
    timeline: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  console.log(`node bench/load.ts [flags]
  --jobs N          Buffer jobs submitted under load (200)
  --size-mb N       request body of each submission, MB (3)
  --concurrency N   submissions in flight at once (20)
  --rate N          probes per second, /health and job status together (200)
  --probe-sockets N keep-alive connections per probe stream (2)
  --baseline N      probes while idle (2000)
  --features N      polygons per input (200); --vertices N per polygon ring (64); a text attribute fills the rest
  --log-level L     GEOJOBS_LOG_LEVEL of the server (info, its default)
  --timeout-s N     give up waiting for the jobs after N s (900)
  --cpu-prof DIR    run the server with node --cpu-prof into DIR and print its top self-time functions
  --timeline        print, per second under load: probes sent, their p50/max, the server's worst loop delay`)
  process.exit(0)
}
const jobs = Number(flags.jobs)
const sizeBytes = Math.round(Number(flags["size-mb"]) * 1e6)
const concurrency = Number(flags.concurrency)
const rate = Number(flags.rate)
const baselineProbes = Number(flags.baseline)
const featureCount = Number(flags.features)
const vertices = Number(flags.vertices)
const timeoutMs = Number(flags["timeout-s"]) * 1000
const cpuProfDir = flags["cpu-prof"]

// --- the server, in its own process ---------------------------------------------------------------------------------

const mainTs = new URL("../../../apps/server/src/main.ts", import.meta.url).pathname
const preload = new URL("./loop-delay.ts", import.meta.url).pathname
const dataDir = mkdtempSync(join(tmpdir(), "geojobs-bench-load-"))
const loopFile = join(dataDir, "loop-delay.json")
if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })

const startServer = () =>
  new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...(cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", cpuProfDir]), "--import", preload, mainTs],
      {
        env: {
          ...process.env,
          GEOJOBS_PORT: "0",
          GEOJOBS_HOST: "127.0.0.1",
          GEOJOBS_DATA_DIR: dataDir,
          GEOJOBS_ADMIN_PASSWORD: "bench password 1",
          GEOJOBS_LOG_LEVEL: flags["log-level"],
          GEOJOBS_BENCH_LOOP_FILE: loopFile
        },
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    let found = false
    // Read (and drop) the access log so the pipe never fills.
    child.stdout?.on("data", (d) => {
      if (found) return
      out += String(d)
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(out)
      if (match?.[1] !== undefined) {
        found = true
        resolve({ child, port: Number(match[1]) })
      }
    })
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)))
  })

const server = await startServer()
const pid = server.child.pid ?? 0
const base = `/arcgis/rest/services/Analysis/Geometry/GPServer/Buffer`

const procStatus = (key: "VmRSS" | "VmHWM") => Proc.memoryMb(pid, key)
let peakRssSampled = 0
const rssSampler = setInterval(() => {
  peakRssSampled = Math.max(peakRssSampled, procStatus("VmRSS"))
}, 250)

const loopDelay = async (): Promise<{
  p50: number
  p99: number
  max: number
  count: number
  stalls: Array<[number, number]>
}> => {
  rmSync(loopFile, { force: true })
  process.kill(pid, "SIGUSR2")
  // The server may have created the file but not yet written it: read until it parses.
  for (let i = 0; i < 600; i++) {
    if (existsSync(loopFile)) {
      try {
        return JSON.parse(readFileSync(loopFile, "utf8"))
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error("the server wrote no loop-delay figures")
}

// --- HTTP ------------------------------------------------------------------------------------------------------------

// Each probe stream keeps a few connections open, as a monitor would: a probe that finds them busy waits its turn, and
// that wait counts (latency is taken from when the probe was due). Opening a connection per waiting probe instead
// overflows the listen backlog during a stall, and the SYN retries (1, 3, 7, 15, 31, 63 s) then dominate the figures.
const probeSockets = Number(flags["probe-sockets"])
const probeAgent = new http.Agent({ keepAlive: true, maxSockets: probeSockets })
const submitAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency })

const request = (
  agent: http.Agent,
  method: string,
  path: string,
  body?: Buffer
): Promise<{ status: number; text: string; ms: number; end: number }> =>
  new Promise((resolve) => {
    const t0 = performance.now()
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        method,
        path,
        agent,
        timeout: 120_000,
        headers:
          body === undefined
            ? {}
            : { "content-type": "application/x-www-form-urlencoded", "content-length": body.length }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8"),
            ms: performance.now() - t0,
            end: performance.now()
          })
        )
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (e) => resolve({ status: 0, text: String(e), ms: performance.now() - t0, end: performance.now() }))
    req.end(body)
  })

const formBody = (params: Record<string, string>) => Buffer.from(new URLSearchParams(params).toString())

// --- the input: Esri JSON polygons, a text attribute filling the body to the size asked ------------------------------

const words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "
const featureSet = (pad: number) => ({
  geometryType: "esriGeometryPolygon",
  spatialReference: { wkid: 4326, latestWkid: 4326 },
  fields: [
    { name: "OID", type: "esriFieldTypeOID", alias: "OID" },
    { name: "name", type: "esriFieldTypeString", alias: "Name", length: 64 },
    { name: "area_ha", type: "esriFieldTypeDouble", alias: "Area (ha)" },
    { name: "notes", type: "esriFieldTypeString", alias: "Notes", length: 1_000_000 }
  ],
  features: Array.from({ length: featureCount }, (_, i) => {
    const cx = -117.5 + (i % 40) * 0.03
    const cy = 33.8 + Math.floor(i / 40) * 0.03
    // A clockwise (Esri outer) ring, wavy so it is not a trivial circle.
    const ring = Array.from({ length: vertices }, (_, k) => {
      const a = (-2 * Math.PI * k) / vertices
      const r = 0.01 * (1 + 0.3 * Math.sin(7 * a))
      return [Number((cx + r * Math.cos(a)).toFixed(6)), Number((cy + r * Math.sin(a)).toFixed(6))]
    })
    ring.push(ring[0] as Array<number>)
    return {
      geometry: { rings: [ring] },
      attributes: {
        OID: i + 1,
        name: `parcel ${i + 1}`,
        area_ha: Number((3 + (i % 17) * 0.37).toFixed(2)),
        notes: words.repeat(Math.ceil(pad / words.length) + 1).slice(0, pad)
      }
    }
  })
})
const submitParams = (pad: number) => ({
  Input_Features: JSON.stringify(featureSet(pad)),
  Distance: JSON.stringify({ distance: 25, units: "esriMeters" }),
  Dissolve: "false",
  f: "json"
})
// The encoded body grows linearly with the padding: solve for the size asked.
const size0 = formBody(submitParams(0)).length
const size1 = formBody(submitParams(1000)).length
const pad = Math.max(0, Math.round(((sizeBytes - size0) * 1000) / (size1 - size0)))
const bigParams = submitParams(pad)
const bigBody = formBody(bigParams)
const jsonBytes = bigParams.Input_Features.length
const coordinateBytes = JSON.stringify(featureSet(0).features.map((f) => f.geometry)).length

// --- a finished job to read -------------------------------------------------------------------------------------------

const submitted = await request(
  submitAgent,
  "POST",
  `${base}/submitJob`,
  formBody({
    Input_Features: dataText("features/polygons-4326.esri.json"),
    Distance: JSON.stringify({ distance: 100, units: "esriMeters" }),
    f: "json"
  })
)
const probeJobId = (JSON.parse(submitted.text) as { jobId?: string }).jobId
if (probeJobId === undefined) throw new Error(`submitJob answered ${submitted.text}`)
const statusPath = `${base}/jobs/${probeJobId}?f=json`
for (let i = 0; ; i++) {
  const { text } = await request(probeAgent, "GET", statusPath)
  const status = (JSON.parse(text) as { jobStatus?: string }).jobStatus
  if (status === "esriJobSucceeded") break
  if (status !== "esriJobSubmitted" && status !== "esriJobWaiting" && status !== "esriJobExecuting")
    throw new Error(`the probe job ended ${text}`)
  if (i > 600) throw new Error("the probe job did not finish")
  await new Promise((r) => setTimeout(r, 100))
}

// --- probes -------------------------------------------------------------------------------------------------------------

interface Samples {
  ms: Array<number>
  /** When each answered probe was sent (epoch ms), beside `ms`. */
  sentAt: Array<number>
  errors: number
}
const newSamples = (): Samples => ({ ms: [], sentAt: [], errors: 0 })

/** Open loop: `perSecond` probes of `path`, on schedule, until `stop()` (or `count` probes); resolves when all answered. */
const probe = (path: string, perSecond: number, count = Number.POSITIVE_INFINITY) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: probeSockets })
  const samples = newSamples()
  const lag: Array<number> = []
  const pending = new Set<Promise<void>>()
  const interval = 1000 / perSecond
  const t0 = performance.now()
  let sent = 0
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let finish: () => void = () => {}
  const finished = new Promise<void>((r) => {
    finish = r
  })
  const tick = () => {
    const now = performance.now()
    while (!stopped && sent < count && t0 + sent * interval <= now) {
      const due = t0 + sent * interval
      lag.push(now - due)
      sent++
      const sentAt = Date.now()
      const p: Promise<void> = request(agent, "GET", path).then((r) => {
        pending.delete(p)
        if (r.status === 200) {
          samples.ms.push(r.end - due)
          samples.sentAt.push(sentAt)
        } else samples.errors++
      })
      pending.add(p)
    }
    if (stopped || sent >= count) {
      void Promise.all(pending).then(() => {
        agent.destroy()
        finish()
      })
      return
    }
    timer = setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()))
  }
  tick()
  return {
    samples,
    lag,
    done: finished,
    stop: () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      void Promise.all(pending).then(() => {
        agent.destroy()
        finish()
      })
    }
  }
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0)
const stats = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN
  }
}

const runProbes = (count?: number) => {
  const health = probe("/health", rate / 2, count === undefined ? undefined : Math.ceil(count / 2))
  const status = probe(statusPath, rate / 2, count === undefined ? undefined : Math.floor(count / 2))
  return {
    health,
    status,
    stop: () => {
      health.stop()
      status.stop()
    },
    done: Promise.all([health.done, status.done])
  }
}

// --- metrics: how many jobs have finished ------------------------------------------------------------------------------

const jobCounts = async () => {
  const { text } = await request(probeAgent, "GET", "/metrics")
  const counts: Record<string, number> = {}
  for (const m of text.matchAll(/^geojobs_jobs\{status="(\w+)"[^}]*\} (\d+)/gm)) counts[m[1] ?? ""] = Number(m[2])
  return counts
}
const terminal = (c: Record<string, number>) => ({
  succeeded: c.Succeeded ?? 0,
  failed: (c.Failed ?? 0) + (c.TimedOut ?? 0) + (c.Cancelled ?? 0)
})

// --- baseline --------------------------------------------------------------------------------------------------------

console.error(
  `server pid ${pid} on port ${server.port}; input ${(bigBody.length / 1e6).toFixed(2)} MB body ` +
    `(${(jsonBytes / 1e6).toFixed(2)} MB Esri JSON: ${featureCount} polygons × ${vertices + 1} vertices, ` +
    `${(coordinateBytes / 1e6).toFixed(2)} MB of geometry JSON, the rest a text attribute)`
)
await loopDelay() // start over from here
console.error(`baseline: ${baselineProbes} probes at ${rate}/s…`)
const baseline = runProbes(baselineProbes)
await baseline.done
const baselineLoop = await loopDelay()
const rssIdle = procStatus("VmRSS")
const hwmIdle = procStatus("VmHWM")

// --- under load --------------------------------------------------------------------------------------------------------

const before = terminal(await jobCounts())
console.error(`load: ${jobs} submissions of ${(bigBody.length / 1e6).toFixed(2)} MB, ${concurrency} at a time…`)
const loaded = runProbes()
const tLoad = performance.now()
const loadStartedAt = Date.now()
const submitMs: Array<number> = []
const submittedAt: Array<number> = []
let submitErrors = 0
let firstSubmitError = ""
let next = 0
await Promise.all(
  Array.from({ length: Math.min(concurrency, jobs) }, async () => {
    while (next < jobs) {
      next++
      const r = await request(submitAgent, "POST", `${base}/submitJob`, bigBody)
      const ok = r.status === 200 && /"jobId"/.test(r.text)
      if (ok) {
        submitMs.push(r.ms)
        submittedAt.push(Date.now())
      } else {
        submitErrors++
        if (firstSubmitError === "") firstSubmitError = `${r.status} ${r.text.slice(0, 300)}`
      }
    }
  })
)
const submitSeconds = (performance.now() - tLoad) / 1000
const accepted = submitMs.length
console.error(`submitted in ${submitSeconds.toFixed(1)} s (${submitErrors} refused); waiting for the jobs…`)
let finished = { succeeded: 0, failed: 0 }
for (;;) {
  const now = terminal(await jobCounts())
  finished = { succeeded: now.succeeded - before.succeeded, failed: now.failed - before.failed }
  if (finished.succeeded + finished.failed >= accepted) break
  if (performance.now() - tLoad > timeoutMs) {
    console.error(`gave up after ${flags["timeout-s"]} s`)
    break
  }
  await new Promise((r) => setTimeout(r, 1000))
}
const totalSeconds = (performance.now() - tLoad) / 1000
loaded.stop()
await loaded.done
const loadLoop = await loopDelay()
const hwmPeak = procStatus("VmHWM")
clearInterval(rssSampler)

// --- stop the server (the CPU profile is written when it exits) ------------------------------------------------------

await new Promise<void>((resolve) => {
  server.child.removeAllListeners("exit")
  server.child.once("exit", () => resolve())
  server.child.kill("SIGTERM")
  setTimeout(() => server.child.kill("SIGKILL"), 60_000).unref()
})
probeAgent.destroy()
submitAgent.destroy()
rmSync(dataDir, { recursive: true, force: true })

// --- report ------------------------------------------------------------------------------------------------------------

const f = (ms: number) => (Number.isNaN(ms) ? "–" : ms < 10 ? ms.toFixed(1) : String(Math.round(ms)))
const probeRow = (phase: string, what: string, s: Samples) => {
  const st = stats(s.ms)
  return [phase, what, String(st.n), f(st.p50), f(st.p95), f(st.p99), f(st.max), String(s.errors)]
}
const rows = [
  probeRow("idle", "GET /health", baseline.health.samples),
  probeRow("idle", "GET job status", baseline.status.samples),
  probeRow("under load", "GET /health", loaded.health.samples),
  probeRow("under load", "GET job status", loaded.status.samples)
]
const header = ["phase", "probe", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"]
const submit = stats(submitMs)
const clientLag = stats([...loaded.health.lag, ...loaded.status.lag])
const stallSum = (list: ReadonlyArray<[number, number]>) => list.reduce((a, [, m]) => a + m, 0)
const stallLine = (list: ReadonlyArray<[number, number]>, seconds: number) =>
  `${list.length} stalls ≥ 50 ms, ${list.filter(([, m]) => m >= 500).length} ≥ 500 ms; longest ` +
  `${f(Math.max(0, ...list.map(([, m]) => m)))} ms; stalled ${(stallSum(list) / 1000).toFixed(1)} s of ` +
  `${seconds.toFixed(1)} s (${((100 * stallSum(list)) / 1000 / seconds).toFixed(0)}%)`
const baselineSeconds = baselineProbes / rate
const summary: Array<[string, string]> = [
  ["submissions", `${jobs} × ${(bigBody.length / 1e6).toFixed(2)} MB, ${concurrency} at a time`],
  [
    "accepted / refused",
    `${accepted} / ${submitErrors}${firstSubmitError === "" ? "" : ` (first: ${firstSubmitError})`}`
  ],
  ["submit latency p50 / p99 / max", `${f(submit.p50)} / ${f(submit.p99)} / ${f(submit.max)} ms`],
  ["all submitted after", `${submitSeconds.toFixed(1)} s`],
  ["all finished after (total)", `${totalSeconds.toFixed(1)} s`],
  ["jobs succeeded / failed", `${finished.succeeded} / ${finished.failed}`],
  [
    "server RSS idle / peak (VmHWM)",
    `${rssIdle} MB / ${Math.max(hwmPeak, peakRssSampled)} MB (idle VmHWM ${hwmIdle} MB)`
  ],
  [
    "server event-loop delay p50 / p99 / max, idle",
    `${f(baselineLoop.p50)} / ${f(baselineLoop.p99)} / ${f(baselineLoop.max)} ms`
  ],
  [
    "server event-loop delay p50 / p99 / max, under load",
    `${f(loadLoop.p50)} / ${f(loadLoop.p99)} / ${f(loadLoop.max)} ms`
  ],
  ["server main-thread stalls, idle", stallLine(baselineLoop.stalls, baselineSeconds)],
  ["server main-thread stalls, under load", stallLine(loadLoop.stalls, totalSeconds)],
  ["probe client's own timer lag p99 / max", `${f(clientLag.p99)} / ${f(clientLag.max)} ms`]
]
const conditions =
  `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"}), the apps/server sample ` +
  `server (SQLite, default workers, log level ${flags["log-level"]}) in its own process on 127.0.0.1; probes open ` +
  `loop at ${rate}/s (half /health, half a finished Buffer job's status, each over ${probeSockets} keep-alive ` +
  `connections, latency from when the probe was due), ${baselineProbes} idle; input: ` +
  `${featureCount} Esri JSON polygons × ${vertices + 1} vertices (${(coordinateBytes / 1e6).toFixed(2)} MB of ` +
  `geometry) and a text attribute, ${(jsonBytes / 1e6).toFixed(2)} MB of JSON, ${(bigBody.length / 1e6).toFixed(2)} ` +
  `MB form-encoded; Buffer 25 m.`

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")
console.log(`\n${line(header)}\n${line(widths.map((w) => "-".repeat(w)))}\n${rows.map(line).join("\n")}\n`)
const keyWidth = Math.max(...summary.map(([k]) => k.length))
console.log(summary.map(([k, v]) => `${k.padEnd(keyWidth)}  ${v}`).join("\n"))
console.log(`\n${conditions}\n`)
console.log("```markdown")
console.log(`| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |`)
console.log(rows.map((r) => `| ${r.join(" | ")} |`).join("\n"))
console.log("\n| load | |\n| --- | --- |")
console.log(summary.map(([k, v]) => `| ${k} | ${v} |`).join("\n"))
console.log(`\n${conditions}`)
console.log("```")

// --- the CPU profile, if asked: top self time (main thread) ----------------------------------------------------------

if (cpuProfDir !== undefined) {
  interface Node {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
    children?: Array<number>
  }
  const newest = readdirSync(cpuProfDir)
    .filter((n) => n.endsWith(".cpuprofile") && n.includes(`.${pid}.`))
    .sort()
  for (const name of newest) {
    const profile = JSON.parse(readFileSync(join(cpuProfDir, name), "utf8")) as {
      nodes: Array<Node>
      samples: Array<number>
      timeDeltas: Array<number>
    }
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    const self = new Map<string, number>()
    let total = 0
    profile.samples.forEach((id, i) => {
      const node = byId.get(id)
      const dt = profile.timeDeltas[i] ?? 0
      total += dt
      if (node === undefined) return
      const { functionName, url, lineNumber } = node.callFrame
      const key = `${functionName || "(anonymous)"} ${url.replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, "").replace(/^.*\/work\/main\//, "")}:${lineNumber + 1}`
      self.set(key, (self.get(key) ?? 0) + dt)
    })
    console.log(`\n${name}: ${(total / 1e6).toFixed(1)} s sampled; top self time`)
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${key}`)
    }
  }
}

if (flags.timeline) {
  console.log("\nper second under load: health probes due, their p50 / max ms; status probes likewise; submissions")
  console.log("answered; the server's main-thread stalls (≥ 50 ms) that began in that second: total and longest ms")
  const second = (t: number) => Math.floor((t - loadStartedAt) / 1000)
  const bucket = (s: Samples, i: number) => stats(s.ms.filter((_, k) => second(s.sentAt[k] ?? 0) === i))
  for (let i = 0; i < Math.ceil(totalSeconds); i++) {
    const h = bucket(loaded.health.samples, i)
    const st = bucket(loaded.status.samples, i)
    const subs = submittedAt.filter((t) => second(t) === i).length
    const stalls = loadLoop.stalls.filter(([t]) => second(t) === i)
    console.log(
      `${String(i).padStart(4)} s  health ${String(h.n).padStart(3)} ${f(h.p50).padStart(6)} ${f(h.max).padStart(6)}` +
        `  status ${String(st.n).padStart(3)} ${f(st.p50).padStart(6)} ${f(st.max).padStart(6)}` +
        `  submits ${String(subs).padStart(3)}  stalls ${String(stallSum(stalls)).padStart(5)}` +
        ` ${String(Math.max(0, ...stalls.map(([, m]) => m))).padStart(5)}`
    )
  }
}
