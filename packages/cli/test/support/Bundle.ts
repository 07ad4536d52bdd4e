// The `geojobs` bundle as published, built with tsdown into an empty folder (no node_modules above it), and a runner
// that starts it with `node` as a user does: a clean environment, the config folder under the test's home.
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { build } from "tsdown"

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface Bundle {
  /** The bundle file (`geojobs.mjs`). */
  readonly path: string
  readonly home: string
  readonly run: (
    args: ReadonlyArray<string>,
    options?: { readonly input?: string; readonly env?: Record<string, string>; readonly config?: string }
  ) => Promise<Run>
}

export const make = async (): Promise<Bundle> => {
  const root = join(import.meta.dirname, "..", "..")
  const out = mkdtempSync(join(tmpdir(), "geojobs-cli-bundle-"))
  await build({ cwd: root, config: join(root, "tsdown.config.ts"), outDir: out, logLevel: "silent" })
  const bundle = join(out, "geojobs.mjs")
  const home = mkdtempSync(join(tmpdir(), "geojobs-cli-home-"))
  const run: Bundle["run"] = (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bundle, ...args], {
        cwd: home,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          GEOJOBS_CONFIG_DIR: options.config ?? join(home, "config"),
          ...options.env
        }
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => {
        stdout += d
      })
      child.stderr.on("data", (d) => {
        stderr += d
      })
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, stdout, stderr }))
      child.stdin.end(options.input ?? "")
    })
  return { path: bundle, home, run }
}
