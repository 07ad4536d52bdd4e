/**
 * Simplify: fewer vertices for lines and polygons (Turf's Douglas–Peucker, high quality; polygon rings stay valid).
 * Turf simplifies in lon/lat degrees, so the tolerance distance becomes degrees of arc on Turf's sphere (1° ≈
 * 111.195 km): exact north–south, and finer east–west by cos(latitude), so vertices are never moved further than asked.
 * Points pass through. The output is in the input's spatial reference.
 *
 * @module
 */
import { lengthToDegrees } from "@turf/helpers"
import { simplify } from "@turf/simplify"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Simplify",
  displayName: "Simplify",
  description: "Removes vertices from lines and polygons that lie within a tolerance of the simplified shape.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The lines or polygons to simplify." },
    {
      name: "Tolerance",
      dataType: "GPLinearUnit",
      description: 'How far the simplified shape may stray, e.g. {"distance":50,"units":"esriMeters"}.'
    },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Tolerance }, ctx) => {
    const km = EsriGeometry.toKilometers(Tolerance as EsriGeometry.LinearUnit)
    if (km < 0) throw new EsriGeometry.GeometryError("Tolerance must not be negative.")
    const tolerance = lengthToDegrees(km, "kilometers")
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const simplified = EsriGeometry.eachFeature(input.features.features, ctx, "Simplifying feature", (feature) =>
      feature.geometry === null ? feature : simplify(feature, { tolerance, highQuality: true, mutate: false })
    )
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: simplified },
        { wkid: input.wkid, geometryType: input.geometryType, fields: input.fields }
      )
    }
  }
})
