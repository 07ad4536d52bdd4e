// GDAL's ogrinfo as an independent reader of the files the tests write: feature count, fields and SRS.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Whether ogrinfo is on the PATH; when not, the checks are skipped with a message. */
export const available: boolean = spawnSync("ogrinfo", ["--version"], { encoding: "utf8" }).status === 0
if (!available)
  console.warn("ogrinfo (GDAL) not found: skipping the independent-reader checks (apt-get install gdal-bin)")

export interface OgrSummary {
  readonly featureCount: number
  readonly fields: Readonly<Record<string, string>>
  readonly epsg: number | undefined
  readonly geometry: string | undefined
  readonly text: string
}

/** `ogrinfo -al -so` of some bytes saved under `fileName` (for a zip, `/vsizip/`). */
export const summary = (bytes: Uint8Array, fileName: string): OgrSummary => {
  const dir = mkdtempSync(join(tmpdir(), "geojobs-ogr-"))
  try {
    const path = join(dir, fileName)
    writeFileSync(path, bytes)
    const target = fileName.endsWith(".zip") ? `/vsizip/${path}` : path
    const run = spawnSync("ogrinfo", ["-ro", "-al", "-so", target], { encoding: "utf8" })
    if (run.status !== 0) throw new Error(`ogrinfo failed: ${run.stderr}`)
    const text = run.stdout
    const fields: Record<string, string> = {}
    // Field lines follow the SRS (and the FID/geometry column lines): "name: Type (w.p)".
    const afterSrs = text.split(/\nData axis to CRS axis mapping:[^\n]*\n|\nLayer SRS WKT:\n\(unknown\)\n/).at(-1) ?? ""
    for (const m of afterSrs.matchAll(/^(\w[\w ]*): (\w+) \(/gm)) fields[m[1] as string] = m[2] as string
    const ids = [...text.matchAll(/ID\["EPSG",(\d+)\]\]\s*$/gm)]
    return {
      featureCount: Number(/Feature Count: (\d+)/.exec(text)?.[1] ?? Number.NaN),
      fields,
      epsg: ids.length > 0 ? Number(ids.at(-1)?.[1]) : undefined,
      geometry: /^Geometry: (.+)$/m.exec(text)?.[1],
      text
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs ogr2ogr to make an input file with GDAL (an independent writer); answers its bytes. */
export const convert = (geojson: unknown, fileName: string, args: ReadonlyArray<string>): Uint8Array => {
  const dir = mkdtempSync(join(tmpdir(), "geojobs-ogr-"))
  try {
    const input = join(dir, "input.geojson")
    writeFileSync(input, JSON.stringify(geojson))
    const output = join(dir, fileName)
    const run = spawnSync("ogr2ogr", [...args, output, input], { encoding: "utf8" })
    if (run.status !== 0) throw new Error(`ogr2ogr failed: ${run.stderr}`)
    return new Uint8Array(readFileSync(output))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
