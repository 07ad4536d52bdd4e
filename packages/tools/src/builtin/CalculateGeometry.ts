/**
 * CalculateGeometry: the input features with two geodesic measures added — `area_km2` (polygons; 0 for points and
 * lines) and `length_km` (lines, and polygon perimeters including holes; 0 for points) — computed by Turf on its
 * sphere of radius 6371.0088 km, so within about 0.5% of the WGS84 ellipsoid's figures. The output is in the input's
 * spatial reference.
 *
 * @module
 */
import { area } from "@turf/area"
import { length } from "@turf/length"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

const added: ReadonlyArray<EsriGeometry.Field> = [
  { name: "area_km2", type: "esriFieldTypeDouble", alias: "Area (km²)" },
  { name: "length_km", type: "esriFieldTypeDouble", alias: "Length (km)" }
]

export default defineTool({
  name: "CalculateGeometry",
  displayName: "Calculate Geometry",
  description: "Adds each feature's geodesic area (area_km2) and length or perimeter (length_km).",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to measure." },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features }, ctx) => {
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const features = EsriGeometry.eachFeature(input.features.features, ctx, "Measuring feature", (feature) => {
      const type = feature.geometry?.type
      const polygon = type === "Polygon" || type === "MultiPolygon"
      const line = type === "LineString" || type === "MultiLineString"
      // A feature without a geometry has no measures, rather than measures of zero.
      const measured = type === undefined
      return {
        ...feature,
        properties: {
          ...feature.properties,
          area_km2: measured ? null : polygon ? area(feature) / 1e6 : 0,
          length_km: measured ? null : polygon || line ? length(feature, { units: "kilometers" }) : 0
        }
      }
    })
    const fields = [...input.fields.filter((f) => !added.some((a) => a.name === f.name)), ...added]
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features },
        { wkid: input.wkid, geometryType: input.geometryType, fields }
      )
    }
  }
})
