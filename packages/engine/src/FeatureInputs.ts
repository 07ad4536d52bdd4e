/**
 * In a tool's worker thread: feature-set inputs (`GPFeatureRecordSetLayer`, `GPRecordSet`) given as an uploaded item
 * — `{"itemID":…}`, which the engine copied into the job's folder before the run (`InputStaging`) — are read from that
 * copy into Esri JSON feature sets, so every tool taking features takes an uploaded zipped shapefile, GeoJSON, CSV, KML,
 * GeoPackage or FlatGeobuf file as well. Reading happens here, off the main thread; the data formats of
 * `@geojobs/tools` are loaded only when an input needs them.
 *
 * @module
 */
import type { EncodedValue } from "@geojobs/core"

const featureTypes: ReadonlySet<string> = new Set(["GPFeatureRecordSetLayer", "GPRecordSet"])

/** A value staged from an uploaded item: its id and its copy's path in the job's folder. */
/** An uploaded item or a file by URL, copied or fetched into the job's folder (`path`) by `InputStaging`. */
const isStaged = (value: unknown): value is { readonly path: string } =>
  typeof value === "object" &&
  value !== null &&
  (typeof (value as { itemID?: unknown }).itemID === "string" ||
    typeof (value as { url?: unknown }).url === "string") &&
  typeof (value as { path?: unknown }).path === "string"

/**
 * The inputs with every staged feature-set input read into a feature set; a file that cannot be read fails the job
 * with the parameter's name and why.
 *
 * @category constructors
 */
export const read = async (
  encoded: EncodedValue.EncodedValues,
  inputs: Readonly<Record<string, unknown>>,
  jobFolder: string
): Promise<Readonly<Record<string, unknown>>> => {
  const names = Object.keys(inputs).filter(
    (name) => featureTypes.has(encoded[name]?.dataType ?? "") && isStaged(inputs[name])
  )
  if (names.length === 0) return inputs
  const [DataFile, DataFormat] = await Promise.all([
    import("@geojobs/tools/DataFile"),
    import("@geojobs/tools/DataFormat")
  ])
  const read: Record<string, unknown> = { ...inputs }
  for (const name of names) {
    try {
      const layer = await DataFormat.runForTool(DataFile.readInput(inputs[name], undefined, jobFolder))
      read[name] = DataFile.toFeatureSet(layer)
    } catch (error) {
      throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return read
}
