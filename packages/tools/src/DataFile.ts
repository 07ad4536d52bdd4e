/**
 * GPDataFile values as the data tools (ConvertFeatures, ExtractData) take and answer them: an input file is read from
 * the `path` its value carries, which must lie inside the job's folder (uploads and fetched URLs are put there before
 * the tool runs); output files are written into that folder under a name of their own and answered as `{path}`.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import { isAbsolute, join, relative, resolve } from "node:path"
import { Effect } from "effect"
import * as DataFormat from "./DataFormat.ts"
import type { EsriFeatureSet, SpatialReferenceId } from "./EsriGeometry.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

/**
 * The layer a data tool works on: the GPDataFile's file when given (read from its `path` in the job's folder, its
 * format detected), else the feature set.
 *
 * @category constructors
 */
export const readInput = (
  file: unknown,
  features: unknown,
  jobFolder: string
): Effect.Effect<FeatureLayer.FeatureLayer, DataFormat.DataFormatError> =>
  Effect.gen(function* () {
    const value = file as { path?: unknown; url?: unknown; itemID?: unknown } | null | undefined
    if (value !== null && value !== undefined && typeof value === "object") {
      if (typeof value.path !== "string") {
        return yield* new DataFormat.MissingPart({
          format: "input file",
          part: "local copy",
          // The engine copies uploads and fetches URLs into the job's folder before a run; a run without it has no copy.
          detail: `${value.url !== undefined ? "files by URL" : "uploaded items"} are not fetched by the tool itself: the server puts them in the job's folder before the run, and this run has no copy; give Input_Features instead`
        })
      }
      const absolute = resolve(jobFolder, value.path)
      const inside = relative(resolve(jobFolder), absolute)
      if (inside.startsWith("..") || isAbsolute(inside)) {
        return yield* new DataFormat.MissingPart({
          format: "input file",
          part: "file in the job's folder",
          detail: `${value.path} is outside it`
        })
      }
      const bytes = yield* Effect.try({
        try: () => new Uint8Array(readFileSync(absolute)),
        catch: () => new DataFormat.MissingPart({ format: "input file", part: `file ${value.path}` })
      })
      return yield* DataFormat.readLayer(bytes, { fileName: value.path })
    }
    if (features === null || features === undefined) {
      return yield* new DataFormat.MissingPart({ format: "input", part: "Input_File or Input_Features" })
    }
    return yield* FeatureLayer.fromFeatureSet(features)
  })

/** The layer in `outSR` when given. @category combinators */
export const projected = (
  layer: FeatureLayer.FeatureLayer,
  outSR: SpatialReferenceId | undefined
): Effect.Effect<FeatureLayer.FeatureLayer, DataFormat.DataFormatError> =>
  outSR === undefined ? Effect.succeed(layer) : FeatureLayer.project(layer, outSR)

/** The layer as an Esri JSON feature set. @category combinators */
export const toFeatureSet = (layer: FeatureLayer.FeatureLayer): EsriFeatureSet => FeatureLayer.toFeatureSet(layer)

/**
 * Where to write an output file in the job's folder: the name made safe (letters, digits, `_`, `-`, one extension).
 *
 * @category constructors
 */
export const outputPath = (
  jobFolder: string,
  fileName: string
): { readonly absolute: string; readonly relative: string } => {
  const safe =
    fileName
      .replace(/^.*[\\/]/, "")
      .replace(/[^\w.-]+/g, "_")
      .replace(/^\.+/, "") || "output"
  return { absolute: join(jobFolder, safe), relative: safe }
}
