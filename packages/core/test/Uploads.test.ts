import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Uploads } from "../src/index.ts"
import { UploadsSuite } from "../src/testing/index.ts"

// The contract every uploads adapter runs; here on the memory layer, fresh per case.
describe("Uploads.layerMemory passes the Uploads contract", () => {
  for (const [name, test] of Object.entries(UploadsSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Uploads.Uploads.layerMemory)))
  }
})

const bytes = (text: string) => new TextEncoder().encode(text)

describe("Uploads.contentProblem", () => {
  it("takes each allowed type with the right first bytes", () => {
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2])
    for (const [name, head] of [
      ["a.zip", zip],
      ["a.kmz", zip],
      ["a.gpkg", bytes("SQLite format 3\u0000...")],
      ["a.fgb", Uint8Array.from([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00])],
      ["a.json", bytes(' [{"a":1}]')],
      ["a.geojson", bytes('\uFEFF{"type":"Feature"}')],
      ["a.kml", bytes("<?xml version='1.0'?>")],
      ["a.csv", bytes("x,y\n")],
      ["a.txt", bytes("hello")]
    ] as const) {
      assert.isUndefined(Uploads.contentProblem(name, head), name)
    }
  })

  it("names what is wrong", () => {
    assert.match(Uploads.contentProblem("a.exe", bytes("MZ")) ?? "", /\.exe files may not be uploaded \(allowed: \.zip/)
    assert.match(Uploads.contentProblem("a.zip", bytes("{}")) ?? "", /not a zip archive/)
    assert.match(Uploads.contentProblem("a.gpkg", bytes("PK")) ?? "", /not a GeoPackage/)
    assert.match(Uploads.contentProblem("a.csv", Uint8Array.from([0x41, 0, 0x42])) ?? "", /not text/)
    assert.match(Uploads.contentProblem("a.csv", new Uint8Array()) ?? "", /empty/)
  })
})

describe("Uploads names and sizes", () => {
  it("safeName keeps the last segment and no path tricks", () => {
    assert.strictEqual(Uploads.safeName("C:\\Users\\me\\Straßen Süd.zip"), "Straßen Süd.zip")
    assert.strictEqual(Uploads.safeName("../../etc/passwd"), "passwd")
    assert.strictEqual(Uploads.safeName(".hidden.csv"), "hidden.csv")
    assert.strictEqual(Uploads.safeName("a\u0000b;rm -rf.txt"), "ab_rm -rf.txt")
    assert.strictEqual(Uploads.safeName(""), "upload")
  })

  it("describeSize says MB when it can", () => {
    assert.strictEqual(Uploads.describeSize(10 * 1024 * 1024), "10 MB")
    assert.strictEqual(Uploads.describeSize(2048), "2 KB")
    assert.strictEqual(Uploads.describeSize(1000), "1000 bytes")
    assert.strictEqual(
      new Uploads.UploadTooLarge({ maxBytes: 1024 * 1024 }).message,
      "The file is larger than the maximum upload file size of 1 MB."
    )
  })
})
