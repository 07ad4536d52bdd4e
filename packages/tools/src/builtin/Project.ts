/**
 * Project: the features in another coordinate system — an EPSG code (4326, 3857, the UTM zones 326xx/327xx), a proj4
 * definition, or WKT — through proj4.
 *
 * @module
 */
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Project",
  displayName: "Project",
  description: "Projects features into another coordinate system.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    {
      name: "Output_Coordinate_System",
      dataType: "GPString",
      description: "4326, 3857, EPSG:32633, a proj4 definition or WKT."
    },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Output_Coordinate_System }) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const text = String(Output_Coordinate_System).trim()
    const target = /^(EPSG:)?\d+$/i.test(text) ? Number(text.replace(/^EPSG:/i, "")) : text
    EsriGeometry.projection(target)
    const { collection } = EsriGeometry.toGeoJSON(input)
    return {
      Output_Features: EsriGeometry.fromGeoJSON(collection, {
        sr: target,
        fields: input.fields,
        geometryType: input.geometryType
      })
    }
  }
})
