// The CLI's pure parts, one module at a time: where the config lives, `--since`, job URLs, exit codes.
import { assert, describe, it } from "@effect/vitest"
import { JobStatus } from "@geojobs/core"
import { Effect } from "effect"
import { parseSince } from "../src/Admin.ts"
import * as Failure from "../src/Failure.ts"
import { exitCode, parseInputs } from "../src/Ogc.ts"
import { colorEnabled } from "../src/Output.ts"
import { configDir } from "../src/Profile.ts"
import { baseOf } from "../src/Session.ts"

describe("the CLI's parts", () => {
  it("finds the config folder: GEOJOBS_CONFIG_DIR, then XDG_CONFIG_HOME, ~/.config, or %APPDATA% on Windows", () => {
    assert.strictEqual(configDir({ GEOJOBS_CONFIG_DIR: "/c", XDG_CONFIG_HOME: "/x" }, "linux", "/h"), "/c")
    assert.strictEqual(configDir({ XDG_CONFIG_HOME: "/x" }, "linux", "/h"), "/x/geojobs")
    assert.strictEqual(configDir({ XDG_CONFIG_HOME: "" }, "darwin", "/h"), "/h/.config/geojobs")
    assert.match(configDir({ APPDATA: "C:\\Users\\a\\AppData\\Roaming" }, "win32", "C:\\Users\\a"), /Roaming.geojobs$/)
  })

  it("reads --since as a duration back from now or as a date", () => {
    const now = Date.parse("2026-11-29T12:00:00Z")
    assert.strictEqual(parseSince("30m", now), now - 30 * 60_000)
    assert.strictEqual(parseSince("2h", now), now - 2 * 3_600_000)
    assert.strictEqual(parseSince("1.5d", now), now - 1.5 * 86_400_000)
    assert.strictEqual(parseSince("1w", now), now - 7 * 86_400_000)
    assert.strictEqual(parseSince("2026-11-01", now), Date.parse("2026-11-01"))
    assert.isUndefined(parseSince("a while", now))
    assert.isUndefined(parseSince("5 fortnights", now))
  })

  it("takes the server from a job URL, REST or admin, with any context path", () => {
    assert.strictEqual(
      baseOf("https://gis.example.com/arcgis/rest/services/System/Utilities/GPServer/Echo/jobs/j1"),
      "https://gis.example.com/arcgis"
    )
    assert.strictEqual(baseOf("http://h:6080/a/b/admin/services/S.GPServer/jobs/j1"), "http://h:6080/a/b")
    assert.isUndefined(baseOf("j0123"))
    assert.isUndefined(baseOf("System/Utilities"))
  })

  it("exits 0 for a job with results and 10 + its status number otherwise, distinct for every final status", () => {
    const finals = JobStatus.all.filter(JobStatus.isTerminal)
    const codes = finals.map(Failure.forStatus)
    assert.deepStrictEqual(Object.fromEntries(finals.map((s, i) => [s, codes[i]])), {
      Succeeded: 0,
      Failed: 15,
      TimedOut: 16,
      Cancelled: 18,
      Deleted: 20
    })
    assert.notInclude(codes, Failure.error)
    assert.notInclude(codes, Failure.usage)
  })

  it("colours only a terminal, unless NO_COLOR or FORCE_COLOR says otherwise", () => {
    assert.isTrue(colorEnabled(true, {}))
    assert.isFalse(colorEnabled(false, {}))
    assert.isFalse(colorEnabled(true, { NO_COLOR: "1" }))
    assert.isTrue(colorEnabled(false, { FORCE_COLOR: "1" }))
    assert.isFalse(colorEnabled(true, { TERM: "dumb" }))
  })

  it("reads OGC inputs as JSON when they are JSON, else as text; exits by the OGC status", () => {
    const inputs = Effect.runSync(
      parseInputs(["seconds=5", "flag=true", "text=hello there", 'quoted="42"', 'object={"a":1}', "empty="])
    )
    assert.deepStrictEqual(inputs, {
      seconds: 5,
      flag: true,
      text: "hello there",
      quoted: "42",
      object: { a: 1 },
      empty: ""
    })
    assert.deepStrictEqual((["successful", "failed", "dismissed"] as const).map(exitCode), [0, 15, 18])
  })
})
