/**
 * Centroids: one point per feature at the mean of its vertices (Turf's centroid; for a polygon with holes the hole
 * vertices count too), attributes kept. The output is in the input's spatial reference.
 *
 * @module
 */
import { centroid } from "@turf/centroid"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Centroids",
  displayName: "Centroids",
  description: "A point at the centroid of each input feature, with its attributes.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features." },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPoint"]
    }
  ],
  execute: ({ Input_Features }, ctx) => {
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const points = EsriGeometry.eachFeature(input.features.features, ctx, "Centroid of feature", (feature) =>
      feature.geometry === null ? [] : [centroid(feature, { properties: feature.properties ?? {} })]
    ).flat()
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: points },
        { wkid: input.wkid, geometryType: "esriGeometryPoint", fields: input.fields }
      )
    }
  }
})
