/**
 * Centroids: one point per feature, at the mean of its vertices (Turf's centroid), attributes kept.
 *
 * @module
 */
import { centroid } from "@turf/centroid"
import type { Feature } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Centroids",
  displayName: "Centroids",
  description: "A point at the centroid of each input feature.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPoint"]
    }
  ],
  execute: ({ Input_Features }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    const points: Array<Feature> = []
    for (const feature of collection.features) {
      EsriGeometry.checkCancelled(ctx.signal)
      if (feature.geometry !== null) points.push(centroid(feature, { properties: feature.properties ?? {} }))
    }
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: points },
        { sr, fields: input.fields, geometryType: "esriGeometryPoint" }
      )
    }
  }
})
