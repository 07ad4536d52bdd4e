/**
 * Dissolve: merges polygons into one, or into one per value of a field (which the output keeps).
 *
 * @module
 */
import { union } from "@turf/union"
import type { Feature, MultiPolygon, Polygon } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

export default defineTool({
  name: "Dissolve",
  displayName: "Dissolve",
  description: "Merges polygons, optionally one merged polygon per value of a field.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", geometryTypes: ["esriGeometryPolygon"] },
    { name: "Dissolve_Field", dataType: "GPString", required: false },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features, Dissolve_Field }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const field = typeof Dissolve_Field === "string" && Dissolve_Field !== "" ? Dissolve_Field : undefined
    if (field !== undefined && input.fields !== undefined && !input.fields.some((f) => f.name === field)) {
      throw new EsriGeometry.GeometryError(`Dissolve_Field ${field} is not a field of Input_Features.`)
    }
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    const groups = new Map<unknown, Array<Feature<Polygon | MultiPolygon>>>()
    for (const feature of collection.features) {
      const g = feature.geometry
      if (g === null) continue
      if (g.type !== "Polygon" && g.type !== "MultiPolygon")
        throw new EsriGeometry.GeometryError("Dissolve takes polygons only.")
      const key = field === undefined ? null : feature.properties?.[field]
      groups.set(key, [...(groups.get(key) ?? []), feature as Feature<Polygon | MultiPolygon>])
    }
    const merged: Array<Feature> = []
    for (const [key, features] of groups) {
      EsriGeometry.checkCancelled(ctx.signal)
      const one = features.length === 1 ? features[0] : union({ type: "FeatureCollection", features })
      if (one) merged.push({ ...one, properties: field === undefined ? {} : { [field]: key } })
    }
    const fields = field === undefined ? [] : (input.fields ?? []).filter((f) => f.name === field)
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: merged },
        { sr, fields, geometryType: "esriGeometryPolygon" }
      )
    }
  }
})
