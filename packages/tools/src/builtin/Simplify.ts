/**
 * Simplify: fewer vertices for lines and polygons (Douglas–Peucker through Turf, high quality). The tolerance is a
 * distance, turned into degrees at a degree of the equator (111.32 km): an approximation, coarser toward the poles.
 *
 * @module
 */
import { simplify } from "@turf/simplify"
import * as EsriGeometry from "../EsriGeometry.ts"
import type { LinearUnit } from "../GPValue.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Simplify",
  displayName: "Simplify",
  description: "Removes vertices from lines and polygons within a tolerance.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    { name: "Tolerance", dataType: "GPLinearUnit" },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Tolerance }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const degrees = EsriGeometry.toKilometers(Tolerance as LinearUnit) / 111.32
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    EsriGeometry.checkCancelled(ctx.signal)
    const simplified = simplify(collection, { tolerance: degrees, highQuality: true, mutate: false })
    return {
      Output_Features: EsriGeometry.fromGeoJSON(simplified, {
        sr,
        fields: input.fields,
        geometryType: input.geometryType
      })
    }
  }
})
