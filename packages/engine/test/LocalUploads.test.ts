import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Uploads } from "@geojobs/core"
import { UploadsSuite } from "@geojobs/core/testing"
import { Effect } from "effect"
import * as LocalUploads from "../src/LocalUploads.ts"

const fresh = () => mkdtempSync(join(tmpdir(), "geojobs-uploads-"))

// The contract every uploads adapter runs; here on real folders, a fresh one per case.
describe("LocalUploads passes the Uploads contract", () => {
  for (const [name, test] of Object.entries(UploadsSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(LocalUploads.layer(fresh()))))
  }
})

const access: Uploads.Access = { service: "Analysis/DataConversion", owner: "alice" }
const limits: Uploads.Limits = { maxBytes: 1024 * 1024, retentionMs: 60_000 }
const text = (s: string) => UploadsSuite.chunked(new TextEncoder().encode(s))

describe("LocalUploads", () => {
  it.effect("an item is <folder>/<itemID>/ with item.json beside its file", () =>
    Effect.gen(function* () {
      const folder = fresh()
      const uploads = yield* LocalUploads.make(folder)
      const item = yield* uploads.upload(
        text("x,y\n1,2\n"),
        limits,
        Effect.succeed({ itemName: "a.csv", description: "", service: access.service, owner: "alice" })
      )
      assert.deepStrictEqual(readdirSync(join(folder, item.itemID)).sort(), ["file", "item.json"])
      const meta = JSON.parse(readFileSync(join(folder, item.itemID, "item.json"), "utf8"))
      assert.strictEqual(meta.itemName, "a.csv")
      assert.strictEqual(meta.owner, "alice")
      assert.strictEqual(yield* uploads.resolve(access, item.itemID), join(folder, item.itemID, "file"))
    })
  )

  it.effect("a refused upload leaves no folder; a leftover without item.json is swept after a day only", () =>
    Effect.gen(function* () {
      const folder = fresh()
      const uploads = yield* LocalUploads.make(folder)
      const error = yield* Effect.flip(
        uploads.upload(
          text("not a zip"),
          limits,
          Effect.succeed({ itemName: "a.zip", description: "", service: access.service, owner: "alice" })
        )
      )
      assert.strictEqual(error._tag, "UnsupportedFileType")
      assert.deepStrictEqual(readdirSync(folder), [])
      const leftover = join(folder, "i00000000-0000-4000-8000-000000000001")
      mkdirSync(leftover)
      assert.strictEqual(yield* uploads.sweep(Date.now()), 0)
      assert.isTrue(existsSync(leftover))
      const twoDaysAgo = (Date.now() - 2 * 86_400_000) / 1000
      utimesSync(leftover, twoDaysAgo, twoDaysAgo)
      yield* uploads.sweep(Date.now())
      assert.isFalse(existsSync(leftover))
    })
  )

  it.effect("an item.json that is not ours (or another id's) reads as no item", () =>
    Effect.gen(function* () {
      const folder = fresh()
      const uploads = yield* LocalUploads.make(folder)
      const item = yield* uploads.upload(
        text("hello"),
        limits,
        Effect.succeed({ itemName: "a.txt", description: "", service: access.service, owner: "alice" })
      )
      const copy = "i00000000-0000-4000-8000-000000000002"
      mkdirSync(join(folder, copy))
      const meta = readFileSync(join(folder, item.itemID, "item.json"))
      writeFileSync(join(folder, copy, "item.json"), meta)
      const error = yield* Effect.flip(uploads.get(access, copy))
      assert.strictEqual(error._tag, "NoSuchItem")
    })
  )
})
