/**
 * Buffer: polygons at a distance around input features, geodesic-ish through Turf (buffering in an azimuthal projection
 * around each feature), optionally dissolved into one. The output is in the input's spatial reference.
 *
 * @module
 */
import { buffer } from "@turf/buffer"
import { union } from "@turf/union"
import type { Feature, MultiPolygon, Polygon } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import type { LinearUnit } from "../GPValue.ts"
import { defineTool } from "../Tool.ts"

// 64 steps per quarter circle keep a buffered point's area within 0.1% of the true circle.
const steps = 64

export default defineTool({
  name: "Buffer",
  displayName: "Buffer",
  description: "Creates polygons around input features at a given distance.",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to buffer." },
    {
      name: "Distance",
      dataType: "GPLinearUnit",
      description: 'The buffer distance, e.g. {"distance":1,"units":"esriKilometers"}.'
    },
    {
      name: "Dissolve",
      dataType: "GPBoolean",
      defaultValue: false,
      description: "Merge all buffers into one polygon."
    },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features, Distance, Dissolve }, ctx) => {
    const input = Input_Features as EsriGeometry.EsriFeatureSet
    const km = EsriGeometry.toKilometers(Distance as LinearUnit)
    const { collection, sr } = EsriGeometry.toGeoJSON(input)
    const buffered: Array<Feature<Polygon | MultiPolygon>> = []
    collection.features.forEach((feature, i) => {
      EsriGeometry.checkCancelled(ctx.signal)
      if (feature.geometry === null) return
      const out = buffer(feature, km, { units: "kilometers", steps })
      if (out !== undefined) buffered.push(out as Feature<Polygon | MultiPolygon>)
      if (i % 100 === 0)
        ctx.progress(
          Math.round((i / collection.features.length) * 100),
          `Buffered ${i} of ${collection.features.length}`
        )
    })
    const merged =
      Dissolve === true && buffered.length > 1
        ? [union({ type: "FeatureCollection", features: buffered }) ?? buffered[0]].filter((f) => f !== undefined)
        : buffered
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        {
          type: "FeatureCollection",
          features: Dissolve === true ? merged.map((f) => ({ ...f, properties: {} })) : merged
        },
        { sr, fields: Dissolve === true ? [] : input.fields, geometryType: "esriGeometryPolygon" }
      )
    }
  }
})
