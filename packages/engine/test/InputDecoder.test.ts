import { afterAll, assert, describe, it } from "@effect/vitest"
import { EncodedValue } from "@geojobs/core"
import { GPValue } from "@geojobs/tools"
import buffer from "@geojobs/tools/builtin/Buffer"
import { Effect } from "effect"
import { vi } from "vitest"
import * as InputDecoder from "../src/InputDecoder.ts"

afterAll(() => InputDecoder.close())

/** Point features whose text passes the off-thread threshold (a long attribute pads each). */
const bigFeatures = (count: number) =>
  JSON.stringify({
    geometryType: "esriGeometryPoint",
    spatialReference: { wkid: 4326 },
    fields: [{ name: "note", type: "esriFieldTypeString" }],
    features: Array.from({ length: count }, (_, i) => ({
      geometry: { x: i / 1000, y: 45 },
      attributes: { note: "x".repeat(1000) }
    }))
  })

describe("InputDecoder", () => {
  it.effect("a big submission is decoded in the worker thread, to the same values as inline, its text kept", () =>
    Effect.gen(function* () {
      const raw = {
        Input_Features: bigFeatures(100),
        Distance: '{"distance":5,"units":"esriKilometers"}',
        f: "json"
      }
      assert.isAtLeast(raw.Input_Features.length, InputDecoder.offThreadChars)
      const inline = yield* GPValue.decodeInputs(buffer, raw)
      // The main thread parses none of it: the worker has its own JSON.
      const parse = vi.spyOn(JSON, "parse")
      const values = yield* InputDecoder.decodeInputs(buffer, raw)
      const parsedHere = parse.mock.calls.length
      parse.mockRestore()
      assert.strictEqual(parsedHere, 0, "JSON.parse calls on the main thread")
      assert.deepStrictEqual(Object.keys(values), Object.keys(inline))
      assert.strictEqual(EncodedValue.textOf(values.Input_Features ?? inline.Input_Features!), raw.Input_Features)
      for (const name of Object.keys(inline)) {
        assert.strictEqual(values[name]?.dataType, inline[name]?.dataType, name)
        assert.deepStrictEqual(values[name]?.value, inline[name]?.value, name)
      }
    })
  )

  it.effect("a bad parameter of a big submission fails as inline: InvalidParameter naming it", () =>
    Effect.gen(function* () {
      const raw = { Input_Features: bigFeatures(100), Distance: '{"distance":"far"}' }
      const offThread = yield* Effect.flip(InputDecoder.decodeInputs(buffer, raw))
      const inline = yield* Effect.flip(GPValue.decodeInputs(buffer, raw))
      assert.strictEqual(offThread._tag, "InvalidParameter")
      assert.strictEqual(offThread.parameter, "Distance")
      assert.strictEqual(offThread.message, inline.message)
      const broken = yield* Effect.flip(
        InputDecoder.decodeInputs(buffer, { Input_Features: `${bigFeatures(100)}]`, Distance: "5" })
      )
      assert.strictEqual(broken.parameter, "Input_Features")
    })
  )

  it.effect("a small submission is decoded inline", () =>
    Effect.gen(function* () {
      const parse = vi.spyOn(JSON, "parse")
      const values = yield* InputDecoder.decodeInputs(buffer, {
        Input_Features: '{"geometryType":"esriGeometryPoint","features":[{"geometry":{"x":1,"y":2}}]}',
        Distance: '{"distance":5}'
      })
      const parsedHere = parse.mock.calls.length
      parse.mockRestore()
      assert.isAbove(parsedHere, 0)
      assert.deepStrictEqual(values.Distance?.value, { distance: 5, units: "esriMeters" })
    })
  )
})
