/**
 * ConvexHull: one polygon, the smallest convex one holding every vertex of every input feature (Turf's convex, planar
 * in lon/lat). The output is in the input's spatial reference.
 *
 * @module
 */
import { convex } from "@turf/convex"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "ConvexHull",
  displayName: "Convex Hull",
  description: "The convex hull of all the input features' vertices, as one polygon.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to enclose." },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features }, ctx) => {
    ctx.signal.throwIfAborted()
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const hull = convex(input.features)
    if (hull === null) {
      throw new EsriGeometry.GeometryError("A convex hull needs at least three vertices that are not on one line.")
    }
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: [{ ...hull, properties: {} }] },
        { wkid: input.wkid, geometryType: "esriGeometryPolygon", fields: [] }
      )
    }
  }
})
