/**
 * CalculateGeometry: adds geodesic measures to each feature — `area_km2` for polygons and `length_km` for lines and
 * polygon perimeters (Turf, on the WGS84 sphere of radius 6371.0088 km).
 *
 * @module
 */
import { area } from "@turf/area"
import { length } from "@turf/length"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "CalculateGeometry",
  displayName: "Calculate Geometry",
  description: "Adds geodesic area (km²) and length (km) attributes.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    const features = collection.features.map((feature) => {
      EsriGeometry.checkCancelled(ctx.signal)
      const g = feature.geometry
      const polygon = g?.type === "Polygon" || g?.type === "MultiPolygon"
      const line = g?.type === "LineString" || g?.type === "MultiLineString"
      return {
        ...feature,
        properties: {
          ...feature.properties,
          area_km2: polygon ? area(feature) / 1e6 : 0,
          length_km: polygon || line ? length(feature, { units: "kilometers" }) : 0
        }
      }
    })
    const fields = [
      ...(input.fields ?? []).filter((f) => f.name !== "area_km2" && f.name !== "length_km"),
      { name: "area_km2", type: "esriFieldTypeDouble", alias: "Area (km²)" },
      { name: "length_km", type: "esriFieldTypeDouble", alias: "Length (km)" }
    ]
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features },
        { sr, fields, geometryType: input.geometryType }
      )
    }
  }
})
