/**
 * Clip: the parts of the input features inside the clip polygons. Polygons are intersected with Turf; points and
 * multipoints keep what lies inside; a line keeps each run of consecutive vertices inside (the crossing points are not
 * interpolated).
 *
 * @module
 */
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon"
import { intersect } from "@turf/intersect"
import { union } from "@turf/union"
import type { Feature, MultiPolygon, Polygon, Position } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

const inside = (p: Position, area: Feature<Polygon | MultiPolygon>) => booleanPointInPolygon(p, area)

const runs = (line: ReadonlyArray<Position>, area: Feature<Polygon | MultiPolygon>): Array<Array<Position>> => {
  const out: Array<Array<Position>> = []
  let current: Array<Position> = []
  for (const p of line) {
    if (inside(p, area)) current.push(p)
    else {
      if (current.length > 1) out.push(current)
      current = []
    }
  }
  if (current.length > 1) out.push(current)
  return out
}

export default defineTool({
  name: "Clip",
  displayName: "Clip",
  description: "Keeps the parts of the input features that fall inside the clip polygons.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer" },
    { name: "Clip_Features", dataType: "GPFeatureRecordSetLayer", geometryTypes: ["esriGeometryPolygon"] },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Clip_Features }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    const clip = EsriGeometry.toGeoJSON(Clip_Features as EsriGeometry.EsriFeatureSet).collection
    const polygons = clip.features.filter(
      (f): f is Feature<Polygon | MultiPolygon> => f.geometry?.type === "Polygon" || f.geometry?.type === "MultiPolygon"
    )
    if (polygons.length === 0) throw new EsriGeometry.GeometryError("Clip_Features must hold at least one polygon.")
    const area = (
      polygons.length === 1 ? polygons[0] : union({ type: "FeatureCollection", features: polygons })
    ) as Feature<Polygon | MultiPolygon>
    const kept: Array<Feature> = []
    for (const feature of collection.features) {
      EsriGeometry.checkCancelled(ctx.signal)
      const g = feature.geometry
      if (g === null) continue
      if (g.type === "Point") {
        if (inside(g.coordinates, area)) kept.push(feature)
      } else if (g.type === "MultiPoint") {
        const points = g.coordinates.filter((p) => inside(p, area))
        if (points.length > 0) kept.push({ ...feature, geometry: { type: "MultiPoint", coordinates: points } })
      } else if (g.type === "LineString" || g.type === "MultiLineString") {
        const lines = (g.type === "LineString" ? [g.coordinates] : g.coordinates).flatMap((l) => runs(l, area))
        if (lines.length > 0) kept.push({ ...feature, geometry: { type: "MultiLineString", coordinates: lines } })
      } else if (g.type === "Polygon" || g.type === "MultiPolygon") {
        const part = intersect({
          type: "FeatureCollection",
          features: [feature as Feature<Polygon | MultiPolygon>, area]
        })
        if (part !== null) kept.push({ ...part, properties: feature.properties })
      }
    }
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: kept },
        { sr, fields: input.fields, geometryType: input.geometryType }
      )
    }
  }
})
