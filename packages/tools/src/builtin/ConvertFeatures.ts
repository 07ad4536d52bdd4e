/**
 * ConvertFeatures: a data file (a zipped shapefile, GeoJSON, CSV, KML/KMZ, GeoPackage, FlatGeobuf) or a feature set in,
 * the same features out as a file of the chosen format in the job's folder (a GPDataFile result), or as a feature set;
 * optionally in another coordinate system. The input file is a GPDataFile whose value carries a `path` in the job's
 * folder: the engine puts an uploaded item (`{"itemID":…}`) or a file by URL (`{"url":…}`) there before the run.
 *
 * @module
 */
import { writeFileSync } from "node:fs"
import * as DataFile from "../DataFile.ts"
import * as DataFormat from "../DataFormat.ts"
import { defineTool } from "../Tool.ts"

/** The output choices: the written formats, or a feature set. */
const outputFormats = ["featureset", ...DataFormat.writableFormats] as const

export default defineTool({
  name: "ConvertFeatures",
  displayName: "Convert Features",
  description:
    "Converts features between the formats GIS users trade (shapefile zip, GeoJSON, CSV, KML/KMZ, GeoPackage, FlatGeobuf, feature sets), optionally reprojecting them.",
  category: "Data",
  parameters: [
    {
      name: "Input_File",
      dataType: "GPDataFile",
      required: false,
      description:
        "The file to convert (zipped shapefile, .geojson, .csv with x/y or WKT columns, .kml, .kmz, .gpkg, .fgb); its format is detected."
    },
    {
      name: "Input_Features",
      dataType: "GPFeatureRecordSetLayer",
      required: false,
      description: "Features to convert, when no Input_File is given."
    },
    {
      name: "Output_Format",
      dataType: "GPString",
      defaultValue: "geopackage",
      choiceList: outputFormats,
      description: "featureset answers Output_Features; any other writes Output_File."
    },
    {
      name: "Output_Coordinate_System",
      dataType: "GPString",
      required: false,
      description:
        'Reproject to this coordinate system ("4326", "3857", "EPSG:32633", a proj4 definition or WKT). By default the input\'s (WGS84 for GeoJSON and KML).'
    },
    {
      name: "Output_Name",
      dataType: "GPString",
      required: false,
      description: "The output file's name, without extension."
    },
    { name: "Output_File", dataType: "GPDataFile", direction: "output" },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: async ({ Input_File, Input_Features, Output_Format, Output_Coordinate_System, Output_Name }, ctx) => {
    ctx.signal.throwIfAborted()
    const outSR =
      typeof Output_Coordinate_System === "string" && Output_Coordinate_System.trim() !== ""
        ? Output_Coordinate_System.trim()
        : undefined
    ctx.progress(0, "Reading the input")
    const layer = await DataFormat.runForTool(DataFile.readInput(Input_File, Input_Features, ctx.outputDir))
    ctx.signal.throwIfAborted()
    const format = String(Output_Format ?? "geopackage")
    if (format === "featureset") {
      ctx.progress(50, "Projecting the features")
      const projected = await DataFormat.runForTool(DataFile.projected(layer, outSR))
      return { Output_File: null, Output_Features: DataFile.toFeatureSet(projected) }
    }
    ctx.progress(50, `Writing ${DataFormat.info[format as DataFormat.Format]?.displayName ?? format}`)
    const name = typeof Output_Name === "string" && Output_Name.trim() !== "" ? Output_Name.trim() : layer.name
    const written = await DataFormat.runForTool(DataFormat.writeLayer(layer, format, { outSR, name }))
    const path = DataFile.outputPath(ctx.outputDir, written.fileName)
    writeFileSync(path.absolute, written.bytes)
    ctx.progress(100, `Wrote ${path.relative} (${written.bytes.length} bytes)`)
    return { Output_File: { path: path.relative }, Output_Features: null }
  }
})
