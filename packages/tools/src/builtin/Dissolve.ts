/**
 * Dissolve: merges polygons (Turf's union) into one, or into one per value of a field, which the output keeps as its
 * only attribute. The output is in the input's spatial reference.
 *
 * @module
 */
import { union } from "@turf/union"
import type { Feature, MultiPolygon, Polygon } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

type Area = Feature<Polygon | MultiPolygon>

export default defineTool({
  name: "Dissolve",
  displayName: "Dissolve",
  description: "Merges polygons into one, or into one per value of a field.",
  category: "Geometry",
  parameters: [
    {
      name: "Input_Features",
      dataType: "GPFeatureRecordSetLayer",
      geometryTypes: ["esriGeometryPolygon"],
      description: "The polygons to merge."
    },
    {
      name: "Dissolve_Field",
      dataType: "GPString",
      required: false,
      description: "A field: polygons with the same value are merged. Empty merges all."
    },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features, Dissolve_Field }, ctx) => {
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const field = typeof Dissolve_Field === "string" && Dissolve_Field.trim() !== "" ? Dissolve_Field.trim() : undefined
    const features = input.features.features
    if (
      field !== undefined &&
      !input.fields.some((f) => f.name === field) &&
      !features.some((f) => f.properties !== null && field in f.properties)
    ) {
      throw new EsriGeometry.GeometryError(`Dissolve_Field ${JSON.stringify(field)} is not a field of Input_Features.`)
    }
    // Keyed by the value's JSON so that 1 and "1" stay apart while equal strings meet; insertion order is kept.
    const groups = new Map<string, { value: unknown; polygons: Array<Area> }>()
    features.forEach((feature, i) => {
      const type = feature.geometry?.type
      if (type === undefined) return
      if (type !== "Polygon" && type !== "MultiPolygon") {
        throw new EsriGeometry.GeometryError(`Dissolve takes polygons, but feature ${i + 1} is a ${type}.`)
      }
      const value = field === undefined ? null : (feature.properties?.[field] ?? null)
      const key = JSON.stringify(value)
      const group = groups.get(key) ?? { value, polygons: [] as Array<Area> }
      group.polygons.push(feature as Area)
      groups.set(key, group)
    })
    const merged = EsriGeometry.eachFeature([...groups.values()], ctx, "Dissolving group", ({ value, polygons }) => {
      const one = polygons.length === 1 ? polygons[0] : union({ type: "FeatureCollection", features: polygons })
      return one ? [{ ...one, properties: field === undefined ? {} : { [field]: value } }] : []
    }).flat()
    const definition = input.fields.find((f) => f.name === field)
    const fields = field === undefined ? [] : [definition ?? { name: field, type: "esriFieldTypeString", alias: field }]
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: merged },
        { wkid: input.wkid, geometryType: "esriGeometryPolygon", fields }
      )
    }
  }
})
