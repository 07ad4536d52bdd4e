import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { JobFilesSuite } from "@geojobs/core/testing"
import { Effect } from "effect"
import * as LocalJobFiles from "../src/LocalJobFiles.ts"

const fresh = () => LocalJobFiles.layer(mkdtempSync(join(tmpdir(), "geojobs-files-")))

// The contract every files adapter runs; here on real folders, a fresh data folder per case.
describe("LocalJobFiles passes the JobFiles contract", () => {
  for (const [name, test] of Object.entries(JobFilesSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(fresh())))
  }
})

describe("LocalJobFiles", () => {
  const id = "j0123456789abcdef0123456789abcdef"

  it.effect("a job's folder is <dataDir>/jobs/<jobId>", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "geojobs-files-"))
      const files = yield* LocalJobFiles.make(dataDir)
      assert.strictEqual(files.folder(id), join(dataDir, "jobs", id))
    })
  )

  it.effect("links that lead out of the job's folder are NoSuchFile; links inside it are followed", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "geojobs-files-"))
      const files = yield* LocalJobFiles.make(dataDir)
      const folder = files.folder(id)
      mkdirSync(join(folder, "sub"), { recursive: true })
      writeFileSync(join(dataDir, "outside.txt"), "secret")
      writeFileSync(join(folder, "sub", "inside.txt"), "ok")
      symlinkSync(join(dataDir, "outside.txt"), join(folder, "escape.txt"))
      symlinkSync(dataDir, join(folder, "up"))
      symlinkSync(join(folder, "sub", "inside.txt"), join(folder, "alias.txt"))
      for (const path of ["escape.txt", "up/outside.txt", "up/jobs"]) {
        const error = yield* Effect.flip(files.read(id, path))
        assert.strictEqual(error._tag, "NoSuchFile", path)
      }
      assert.strictEqual(new TextDecoder().decode(yield* files.read(id, "alias.txt")), "ok")
      assert.strictEqual(yield* files.resolve(id, "alias.txt"), join(folder, "sub", "inside.txt"))
    })
  )

  it.effect("remove never touches anything for a malformed id", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "geojobs-files-"))
      const files = yield* LocalJobFiles.make(dataDir)
      writeFileSync(join(dataDir, "keep.txt"), "x")
      for (const bad of ["..", "../..", ""]) yield* files.remove(bad)
      assert.isTrue(existsSync(join(dataDir, "keep.txt")))
      assert.isTrue(existsSync(join(dataDir, "jobs")))
    })
  )
})
