/**
 * ConvexHull: the smallest convex polygon holding every vertex of the input features.
 *
 * @module
 */
import { convex } from "@turf/convex"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "ConvexHull",
  displayName: "Convex Hull",
  description: "The convex hull of all input features, as one polygon.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features }) => {
    const { collection, sr } = EsriGeometry.toGeoJSON(Input_Features as EsriGeometry.EsriFeatureSet)
    const hull = convex(collection)
    if (hull === null) throw new EsriGeometry.GeometryError("The convex hull needs at least three distinct vertices.")
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: [{ ...hull, properties: {} }] },
        { sr, geometryType: "esriGeometryPolygon" }
      )
    }
  }
})
