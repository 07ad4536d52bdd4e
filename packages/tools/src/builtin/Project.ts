/**
 * Project: the input features in another coordinate system (proj4): EPSG 4326, 3857 (or its Esri alias 102100), a
 * WGS84 UTM zone (326xx north, 327xx south), a proj4 definition or WKT. The output's spatial reference has the wkid for
 * an EPSG code, and otherwise carries the definition as given in `wkt`.
 *
 * @module
 */
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Project",
  displayName: "Project",
  description: "Projects the input features into another coordinate system.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to project." },
    {
      name: "Output_Coordinate_System",
      dataType: "GPString",
      description: 'The target: "4326", "3857", "EPSG:32633", a proj4 definition or WKT.'
    },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Output_Coordinate_System }, ctx) => {
    ctx.signal.throwIfAborted()
    // Resolved before reading the features so that a bad target fails with its own message.
    const target = EsriGeometry.projection(String(Output_Coordinate_System ?? ""))
    const input = EsriGeometry.toGeoJSON(Input_Features)
    ctx.signal.throwIfAborted()
    return {
      Output_Features: EsriGeometry.fromGeoJSON(input.features, {
        wkid: target.id,
        geometryType: input.geometryType,
        fields: input.fields
      })
    }
  }
})
