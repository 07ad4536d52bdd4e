/**
 * `pnpm bench:cli`: how long `geojobs` takes to answer `--version` and `--help` — the bundle as published (built here
 * with tsdown into an empty folder), beside the baseline of a bare `node -e 0` and the unbundled sources, runs
 * interleaved in the same loop so machine noise hits all alike. Prints a table and appends it to BENCHMARKS.md.
 */
import { spawnSync } from "node:child_process"
import { appendFileSync, mkdtempSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { build } from "tsdown"

const runs = Number(process.env.BENCH_RUNS ?? 30)
const root = join(import.meta.dirname, "..")
const out = mkdtempSync(join(tmpdir(), "geojobs-bench-cli-"))
await build({ cwd: root, config: join(root, "tsdown.config.ts"), outDir: out, logLevel: "silent" })
const bundle = join(out, "geojobs.mjs")

const cases: ReadonlyArray<{ readonly label: string; readonly args: ReadonlyArray<string> }> = [
  { label: "`node -e 0` (baseline)", args: ["-e", "0"] },
  { label: "bundle `--version`", args: [bundle, "--version"] },
  { label: "bundle `--help`", args: [bundle, "--help"] },
  { label: "sources `--version` (unbundled, type-stripped)", args: [join(root, "src", "main.ts"), "--version"] }
]

const samples = cases.map(() => [] as Array<number>)
for (let i = 0; i < runs; i++) {
  cases.forEach((c, k) => {
    const started = process.hrtime.bigint()
    const result = spawnSync(process.execPath, c.args, { cwd: out, stdio: "pipe", env: { PATH: process.env.PATH } })
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    if (result.status !== 0) throw new Error(`${c.label} exited ${result.status}: ${result.stderr}`)
    samples[k]?.push(ms)
  })
}

const quantile = (xs: ReadonlyArray<number>, q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}
const rows = cases.map((c, k) => {
  const xs = samples[k] ?? []
  return `| ${c.label} | ${quantile(xs, 0.5).toFixed(0)} ms | ${quantile(xs, 0.9).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms |`
})
const table = ["| command | median | p90 | max |", "| --- | --- | --- | --- |", ...rows].join("\n")
const conditions = `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), ${runs} runs each, interleaved, wall time of the whole process from an empty folder.`
process.stdout.write(`${table}\n\n${conditions}\n`)
const file = new URL("../../../BENCHMARKS.md", import.meta.url)
appendFileSync(file, `\n## cli — ${new Date().toISOString().slice(0, 10)}\n\n${table}\n\n${conditions}\n`)
