/**
 * Clip: the parts of the input features inside the union of the clip polygons. Polygons are intersected with Turf;
 * points and multipoints keep the points inside; lines are cut exactly where they cross the clip boundary (each
 * segment is split at its crossings with the boundary's edges and the pieces inside kept), so a line leaving and
 * re-entering becomes a multi-part line. Like Turf's polygon operations, the cutting is planar in lon/lat.
 * Points on the boundary count as inside.
 *
 * @module
 */
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon"
import { intersect } from "@turf/intersect"
import { union } from "@turf/union"
import type { Feature, Geometry, MultiPolygon, Polygon, Position } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

type Area = Feature<Polygon | MultiPolygon>

interface Edge {
  readonly a: Position
  readonly b: Position
  readonly minX: number
  readonly maxX: number
  readonly minY: number
  readonly maxY: number
}

const xy = (p: Position): readonly [number, number] => [p[0] ?? 0, p[1] ?? 0]

const edgesOf = (area: Area): Array<Edge> => {
  const polygons = area.geometry.type === "Polygon" ? [area.geometry.coordinates] : area.geometry.coordinates
  return polygons.flatMap((rings) =>
    rings.flatMap((ring) =>
      ring.slice(1).map((b, i) => {
        const a = ring[i] as Position
        const [ax, ay] = xy(a)
        const [bx, by] = xy(b)
        return { a, b, minX: Math.min(ax, bx), maxX: Math.max(ax, bx), minY: Math.min(ay, by), maxY: Math.max(ay, by) }
      })
    )
  )
}

const cross = (ux: number, uy: number, vx: number, vy: number) => ux * vy - uy * vx

/** Where (0 < t < 1 along p→q) the segment meets the boundary edges, including the ends of collinear overlaps. */
const crossings = (p: Position, q: Position, edges: ReadonlyArray<Edge>): Array<number> => {
  const [px, py] = xy(p)
  const [qx, qy] = xy(q)
  const [rx, ry] = [qx - px, qy - py]
  const rr = rx * rx + ry * ry
  const out: Array<number> = []
  for (const e of edges) {
    if (
      e.maxX < Math.min(px, qx) ||
      e.minX > Math.max(px, qx) ||
      e.maxY < Math.min(py, qy) ||
      e.minY > Math.max(py, qy)
    )
      continue
    const [ax, ay] = xy(e.a)
    const [bx, by] = xy(e.b)
    const [sx, sy] = [bx - ax, by - ay]
    const denominator = cross(rx, ry, sx, sy)
    const scale = Math.sqrt(rr * (sx * sx + sy * sy))
    if (Math.abs(denominator) <= 1e-12 * scale) {
      // Parallel: only a collinear edge matters, and then its ends split the segment.
      if (Math.abs(cross(ax - px, ay - py, rx, ry)) <= 1e-12 * Math.sqrt(rr) * Math.hypot(ax - px, ay - py)) {
        out.push(((ax - px) * rx + (ay - py) * ry) / rr, ((bx - px) * rx + (by - py) * ry) / rr)
      }
      continue
    }
    const t = cross(ax - px, ay - py, sx, sy) / denominator
    const u = cross(ax - px, ay - py, rx, ry) / denominator
    if (u >= 0 && u <= 1) out.push(t)
  }
  return out.filter((t) => t > 0 && t < 1)
}

const at = (p: Position, q: Position, t: number): Position =>
  t === 0 ? p : t === 1 ? q : p.map((v, i) => v + ((q[i] ?? v) - v) * t)

/** The pieces of a line inside the area. */
const clipLine = (line: ReadonlyArray<Position>, area: Area, edges: ReadonlyArray<Edge>): Array<Array<Position>> => {
  const pieces: Array<Array<Position>> = []
  let current: Array<Position> = []
  const flush = () => {
    if (current.length > 1) pieces.push(current)
    current = []
  }
  line.slice(1).forEach((q, i) => {
    const p = line[i] as Position
    const [px, py] = xy(p)
    const [qx, qy] = xy(q)
    if (px === qx && py === qy) return
    const ts = [0, ...crossings(p, q, edges).sort((a, b) => a - b), 1]
    for (let k = 1; k < ts.length; k++) {
      const t0 = ts[k - 1] as number
      const t1 = ts[k] as number
      if (t1 - t0 <= 1e-12) continue
      if (booleanPointInPolygon(at(p, q, (t0 + t1) / 2), area)) {
        if (current.length === 0) current.push(at(p, q, t0))
        current.push(at(p, q, t1))
      } else flush()
    }
  })
  flush()
  return pieces
}

const clip = (geometry: Geometry, feature: Feature, area: Area, edges: ReadonlyArray<Edge>): Geometry | null => {
  switch (geometry.type) {
    case "Point":
      return booleanPointInPolygon(geometry.coordinates, area) ? geometry : null
    case "MultiPoint": {
      const points = geometry.coordinates.filter((p) => booleanPointInPolygon(p, area))
      return points.length === 0 ? null : { type: "MultiPoint", coordinates: points }
    }
    case "LineString":
    case "MultiLineString": {
      const lines = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates
      const pieces = lines.flatMap((line) => clipLine(line, area, edges))
      if (pieces.length === 0) return null
      return pieces.length === 1
        ? { type: "LineString", coordinates: pieces[0] as Array<Position> }
        : { type: "MultiLineString", coordinates: pieces }
    }
    case "Polygon":
    case "MultiPolygon":
      return (
        intersect({ type: "FeatureCollection", features: [{ ...feature, geometry } as Area, area] })?.geometry ?? null
      )
    case "GeometryCollection":
      throw new EsriGeometry.GeometryError("Clip cannot cut a GeometryCollection.")
  }
}

export default defineTool({
  name: "Clip",
  displayName: "Clip",
  description: "Keeps the parts of the input features that fall inside the clip polygons.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to clip." },
    {
      name: "Clip_Features",
      dataType: "GPFeatureRecordSetLayer",
      geometryTypes: ["esriGeometryPolygon"],
      description: "Polygons whose union the input is clipped to."
    },
    { name: "Output_Features", dataType: "GPFeatureRecordSetLayer", direction: "output" }
  ],
  execute: ({ Input_Features, Clip_Features }, ctx) => {
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const clipFeatures = EsriGeometry.toGeoJSON(Clip_Features, "Clip_Features").features.features
    const polygons = clipFeatures.filter((f, i): f is Area => {
      const type = f.geometry?.type
      if (type === undefined || type === "Polygon" || type === "MultiPolygon") return type !== undefined
      throw new EsriGeometry.GeometryError(`Clip_Features must be polygons, but feature ${i + 1} is a ${type}.`)
    })
    if (polygons.length === 0) throw new EsriGeometry.GeometryError("Clip_Features holds no polygon to clip to.")
    ctx.progress(0, "Merging the clip polygons")
    const area = polygons.length === 1 ? polygons[0] : union({ type: "FeatureCollection", features: polygons })
    if (!area) throw new EsriGeometry.GeometryError("The clip polygons cover no area.")
    const edges = edgesOf(area)
    const clipped = EsriGeometry.eachFeature(input.features.features, ctx, "Clipping feature", (feature) => {
      const geometry = feature.geometry === null ? null : clip(feature.geometry, feature, area, edges)
      return geometry === null ? [] : [{ ...feature, geometry }]
    }).flat()
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features: clipped },
        { wkid: input.wkid, geometryType: input.geometryType, fields: input.fields }
      )
    }
  }
})
