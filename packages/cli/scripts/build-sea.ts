// `pnpm build:sea [--out <dir>]`: the CLI as a Node single executable application (`dist/geojobs-<platform>-<arch>`),
// for machines without Node. Node 24 has no `--build-sea`, so: a CommonJS bundle (a SEA's main must be CJS on 24), the SEA blob from
// `node --experimental-sea-config`, a copy of this node, and postject to inject the blob (toolchain-notes §6).
import { execFileSync } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join, resolve } from "node:path"
import { parseArgs } from "node:util"
import { build } from "tsdown"

const root = join(import.meta.dirname, "..")
const { values } = parseArgs({ options: { out: { type: "string" } } })
const outDir = resolve(values.out ?? join(root, "dist"))
const work = join(outDir, "sea")
const binary = join(outDir, `geojobs-${process.platform}-${process.arch}${process.platform === "win32" ? ".exe" : ""}`)

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
await build({
  cwd: root,
  config: false,
  entry: { geojobs: join(root, "src", "main.ts") },
  format: "cjs",
  platform: "node",
  target: "node24",
  minify: true,
  dts: false,
  clean: false,
  outDir: work,
  outExtensions: () => ({ js: ".cjs" }),
  deps: { alwaysBundle: [/.*/], onlyBundle: false },
  logLevel: "warn"
})
const blob = join(work, "geojobs.blob")
writeFileSync(
  join(work, "sea-config.json"),
  JSON.stringify({
    main: join(work, "geojobs.cjs"),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true
  })
)
execFileSync(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], { stdio: "inherit" })
rmSync(binary, { force: true })
copyFileSync(process.execPath, binary)
chmodSync(binary, 0o755)
// Node's symbols are ~18 MB of the binary and nothing at run time needs them; strip them where `strip` exists.
if (process.platform === "linux") {
  try {
    execFileSync("strip", [binary], { stdio: "ignore" })
  } catch {
    // no binutils: the binary works unstripped
  }
}
if (process.platform === "darwin") execFileSync("codesign", ["--remove-signature", binary])
const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js")
execFileSync(
  process.execPath,
  [
    postject,
    binary,
    "NODE_SEA_BLOB",
    blob,
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
    ...(process.platform === "darwin" ? ["--macho-segment-name", "NODE_SEA"] : [])
  ],
  { stdio: ["ignore", "ignore", "inherit"] }
)
if (process.platform === "darwin") execFileSync("codesign", ["--sign", "-", binary])
rmSync(work, { recursive: true, force: true })
process.stdout.write(`${binary} (${(statSync(binary).size / 1e6).toFixed(1)} MB)\n`)
