/**
 * What a process loads when it only reads the sample services (as the server's main thread does at start): the tools'
 * definitions, not the data-format libraries, which `DataFormat` imports the first time a format is read or written
 * (issue 13: they cost the main thread memory it never uses). A child process records every module it loads (a
 * `module.registerHooks` load hook) and the test reads the list; then a write of one format loads that format's
 * libraries, so the check can fail both ways.
 */
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"

const script = (afterLoad: string) => `
import { registerHooks } from "node:module"
const loaded = []
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context) } })
const { Effect } = await import("effect")
const ServicesFile = await import(${JSON.stringify(new URL("../src/ServicesFile.ts", import.meta.url).href)})
const DataFormat = await import(${JSON.stringify(new URL("../src/DataFormat.ts", import.meta.url).href)})
const services = await Effect.runPromise(ServicesFile.load(ServicesFile.samplePath))
if (services.length === 0) throw new Error("no services")
${afterLoad}
console.log(JSON.stringify(loaded))
`

const loadedBy = (afterLoad: string): ReadonlyArray<string> => {
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script(afterLoad)], {
    encoding: "utf8",
    timeout: 60_000
  })
  if (child.status !== 0) throw new Error(`the child process failed (${child.status}):\n${child.stderr}`)
  return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "[]") as ReadonlyArray<string>
}

/** The libraries of the formats that are not GeoJSON. */
const formatLibraries =
  /\/node_modules\/(@mapbox\/shp-write|shapefile|dbffile|@xmldom\/xmldom|flatgeobuf|wkx|papaparse)\//

describe("reading the services file", () => {
  it("loads every built-in tool's definition but no data-format library; a KML write then loads xmldom", () => {
    const loaded = loadedBy("")
    expect(loaded.some((url) => url.endsWith("/builtin/ConvertFeatures.ts"))).toBe(true)
    expect(loaded.filter((url) => formatLibraries.test(url))).toEqual([])
    expect(loaded.filter((url) => /\/(Shapefile|Kml|Csv|GeoPackage|FlatGeobuf)Format\.ts$/.test(url))).toEqual([])

    const afterWrite = loadedBy(`
await Effect.runPromise(DataFormat.write({ geometryType: "esriGeometryPoint", spatialReference: { wkid: 4326 },
  fields: [], features: [{ geometry: { x: 1, y: 2 }, attributes: {} }] }, "kml"))`)
    expect(afterWrite.some((url) => url.endsWith("/KmlFormat.ts"))).toBe(true)
    expect(afterWrite.some((url) => /\/node_modules\/@xmldom\/xmldom\//.test(url))).toBe(true)
  })
})
