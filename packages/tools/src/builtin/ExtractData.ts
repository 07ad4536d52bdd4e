/**
 * ExtractData: the features of the given layers (feature sets), clipped to an optional area of interest (polygons;
 * cut as the Clip tool cuts, with Turf), written as one file of the chosen format — shapefile zip, GeoJSON, CSV, KML,
 * KMZ or GeoPackage — in the job's folder and answered as a GPDataFile. One layer gives one file; several give a zip
 * holding one file per layer (a zipped shapefile's parts side by side). Layers are named by their feature set's
 * `name` (or `Layer_<n>`).
 *
 * @module
 */
import { writeFileSync } from "node:fs"
import { unzipSync, zipSync } from "fflate"
import * as DataFile from "../DataFile.ts"
import * as DataFormat from "../DataFormat.ts"
import * as FeatureLayer from "../FeatureLayer.ts"
import { defineTool, type ToolContext } from "../Tool.ts"
import Clip from "./Clip.ts"

const layerName = (value: unknown, i: number): string => {
  const name = (value as { name?: unknown } | null)?.name
  return typeof name === "string" && name.trim() !== "" ? name.trim() : `Layer_${i + 1}`
}

export default defineTool({
  name: "ExtractData",
  displayName: "Extract Data",
  description:
    "Extracts the features of the given layers inside an area of interest into a file: shapefile zip, GeoJSON, CSV, KML, KMZ or GeoPackage.",
  category: "Data",
  parameters: [
    {
      name: "Layers_To_Clip",
      dataType: "GPMultiValue:GPFeatureRecordSetLayer",
      description: "The layers (feature sets) to extract from."
    },
    {
      name: "Area_Of_Interest",
      dataType: "GPFeatureRecordSetLayer",
      required: false,
      geometryTypes: ["esriGeometryPolygon"],
      description: "Polygons whose union the features are clipped to; everything when empty."
    },
    {
      name: "Feature_Format",
      dataType: "GPString",
      defaultValue: "geopackage",
      choiceList: DataFormat.writableFormats,
      description: "The output file's format."
    },
    {
      name: "Output_Coordinate_System",
      dataType: "GPString",
      required: false,
      description: 'Reproject to this coordinate system ("4326", "3857", "EPSG:32633", a proj4 definition or WKT).'
    },
    {
      name: "Output_Name",
      dataType: "GPString",
      defaultValue: "extract",
      description: "The output file's name, without extension."
    },
    { name: "Output_Zip_File", dataType: "GPDataFile", direction: "output" }
  ],
  execute: async ({ Layers_To_Clip, Area_Of_Interest, Feature_Format, Output_Coordinate_System, Output_Name }, ctx) => {
    const layers = Array.isArray(Layers_To_Clip) ? Layers_To_Clip : Layers_To_Clip == null ? [] : [Layers_To_Clip]
    if (layers.length === 0) throw new Error("Layers_To_Clip holds no layer to extract.")
    const format = String(Feature_Format ?? "geopackage")
    const outSR =
      typeof Output_Coordinate_System === "string" && Output_Coordinate_System.trim() !== ""
        ? Output_Coordinate_System.trim()
        : undefined
    const aoi = Area_Of_Interest as { features?: ReadonlyArray<unknown> } | null | undefined
    const clipping = aoi !== null && aoi !== undefined && (aoi.features?.length ?? 0) > 0
    const files: Array<DataFormat.Written> = []
    const used = new Set<string>()
    for (const [i, value] of layers.entries()) {
      ctx.signal.throwIfAborted()
      const given = layerName(value, i)
      const name = used.has(given.toLowerCase()) ? `${given}_${i + 1}` : given
      used.add(name.toLowerCase())
      const share = 100 / layers.length
      // Each layer's part of the progress bar; Clip reports its own feature loop inside it.
      const inner: ToolContext = {
        ...ctx,
        outputDir: ctx.outputDir,
        progress: (p, m) => ctx.progress(Math.floor(i * share + ((p ?? 0) * share) / 100), `${name}: ${m ?? ""}`)
      }
      inner.progress(0, clipping ? "clipping to the area of interest" : "reading")
      const features = clipping
        ? (await Clip.execute({ Input_Features: value, Clip_Features: aoi }, inner)).Output_Features
        : value
      const layer = await DataFormat.runForTool(FeatureLayer.fromFeatureSet(features, name))
      files.push(await DataFormat.runForTool(DataFormat.writeLayer(layer, format, { outSR, name })))
    }
    ctx.signal.throwIfAborted()
    const stem = typeof Output_Name === "string" && Output_Name.trim() !== "" ? Output_Name.trim() : "extract"
    const single = files.length === 1 ? files[0] : undefined
    const bytes =
      single !== undefined
        ? single.bytes
        : zipSync(
            Object.fromEntries(
              files.flatMap((f) =>
                f.format === "shapefile" ? Object.entries(unzipSync(f.bytes)) : [[f.fileName, f.bytes] as const]
              )
            )
          )
    const extension = single !== undefined ? single.extension : ".zip"
    const path = DataFile.outputPath(ctx.outputDir, `${stem}${extension}`)
    writeFileSync(path.absolute, bytes)
    ctx.progress(100, `Wrote ${path.relative}`)
    return { Output_Zip_File: { path: path.relative } }
  }
})
