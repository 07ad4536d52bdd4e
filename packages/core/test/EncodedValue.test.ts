import { assert, describe, it } from "@effect/vitest"
import * as EncodedValue from "../src/EncodedValue.ts"

describe("EncodedValue", () => {
  it("a lazy value decodes its text once, on first read, and keeps the text it came from", () => {
    const json = '{"features":[{"attributes":{"n":1}}],  "x": 1.50}'
    const value = EncodedValue.lazy({ dataType: "GPRecordSet", json })
    assert.strictEqual(EncodedValue.textOf(value), json, "the text as stored, not re-encoded")
    const first = value.value
    assert.deepStrictEqual(first, { features: [{ attributes: { n: 1 } }], x: 1.5 })
    assert.strictEqual(value.value, first, "decoded once")
    assert.deepStrictEqual(Object.keys(value), ["dataType", "value"], "reads as a plain value")
    assert.deepStrictEqual(JSON.parse(JSON.stringify(value)), { dataType: "GPRecordSet", value: first })
  })

  it("textOf encodes a plain value once and answers the same text after", () => {
    const plain = { dataType: "GPLong", value: 42 }
    assert.strictEqual(EncodedValue.textOf(plain), "42")
    assert.strictEqual(EncodedValue.textOf(plain), "42")
  })

  it("encodeAll and decodeAll round-trip values, undefined and null included, names in order", () => {
    const values = {
      b: { dataType: "GPString", value: "ß 名前" },
      a: { dataType: "GPDouble", value: null },
      c: { dataType: "GPString", value: undefined }
    }
    const encoded = EncodedValue.encodeAll(values)
    assert.deepStrictEqual(encoded, {
      b: { dataType: "GPString", json: '"ß 名前"' },
      a: { dataType: "GPDouble", json: "null" },
      c: { dataType: "GPString", json: "" }
    })
    const back = EncodedValue.decodeAll(structuredClone(encoded))
    assert.deepStrictEqual(Object.keys(back), ["b", "a", "c"])
    assert.strictEqual(back.b?.value, "ß 名前")
    assert.isNull(back.a?.value)
    assert.isUndefined(back.c?.value)
    assert.deepStrictEqual(
      EncodedValue.decodeAllNow(encoded, () => assert.fail("no value is in a file")),
      { b: "ß 名前", a: null, c: undefined }
    )
    assert.deepStrictEqual(
      EncodedValue.encodeAllNow({ out: [1, 2] }, (name) => (name === "out" ? "GPMultiValue:GPLong" : "?")),
      { out: { dataType: "GPMultiValue:GPLong", json: "[1,2]" } }
    )
  })

  it("a value in a file is handed on as its path until read, then read once; decodeAllNow reads files by path", () => {
    let reads = 0
    const value = EncodedValue.inFile("GPString", "/data/v/1.json", () => {
      reads++
      return '"from the file"'
    })
    assert.strictEqual(EncodedValue.fileOf(value), "/data/v/1.json")
    assert.deepStrictEqual(EncodedValue.encode(value), { dataType: "GPString", json: "", file: "/data/v/1.json" })
    assert.strictEqual(reads, 0)
    assert.strictEqual(value.value, "from the file")
    assert.strictEqual(EncodedValue.textOf(value), '"from the file"')
    assert.strictEqual(reads, 1)
    // Once read, the text is known and travels as text.
    assert.deepStrictEqual(EncodedValue.encode(value), { dataType: "GPString", json: '"from the file"' })
    const paths: Array<string> = []
    const now = EncodedValue.decodeAllNow(
      { a: { dataType: "GPLong", json: "", file: "/f/a.json" }, b: { dataType: "GPLong", json: "2" } },
      (path) => {
        paths.push(path)
        return "1"
      }
    )
    assert.deepStrictEqual(now, { a: 1, b: 2 })
    assert.deepStrictEqual(paths, ["/f/a.json"])
  })

  it("recordText writes a record of values as JSON.stringify would, from the values' own texts", () => {
    const values = {
      'a "b"': { dataType: "GPString", value: "x" },
      n: { dataType: "GPLong", value: 7 },
      u: { dataType: "GPString", value: undefined },
      lazy: EncodedValue.lazy({ dataType: "GPRecordSet", json: '{"features":[]}' })
    }
    assert.deepStrictEqual(JSON.parse(EncodedValue.recordText(values)), JSON.parse(JSON.stringify(values)))
    assert.strictEqual(EncodedValue.recordText({}), "{}")
    // The known text is what goes in, as it is (its spaces kept): never decoded and encoded again.
    const known = EncodedValue.lazy({ dataType: "GPLong", json: " 2 " })
    assert.strictEqual(EncodedValue.recordText({ v: known }), '{"v":{"dataType":"GPLong","value": 2 }}')
  })
})
