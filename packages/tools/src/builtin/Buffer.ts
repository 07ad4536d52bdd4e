/**
 * Buffer: polygons around the input features at a distance. Turf buffers each feature in an azimuthal equidistant
 * projection centred on it, so the distance holds on the ground (geodesic) whatever the input's spatial reference;
 * the buffers can be dissolved into one. The output is in the input's spatial reference.
 *
 * @module
 */
import { buffer } from "@turf/buffer"
import { union } from "@turf/union"
import type { Feature, MultiPolygon, Polygon } from "geojson"
import * as EsriGeometry from "../EsriGeometry.ts"
import { defineTool } from "../Tool.ts"

// Segments per quarter circle: 32 keep a buffered point's area within 0.05% of the true circle (Turf's default, 8,
// falls 0.6% short).
const steps = 32

export default defineTool({
  name: "Buffer",
  displayName: "Buffer",
  description: "Creates polygons around the input features at a given geodesic distance.",
  category: "Geometry",
  parameters: [
    { name: "Input_Features", dataType: "GPFeatureRecordSetLayer", description: "The features to buffer." },
    {
      name: "Distance",
      dataType: "GPLinearUnit",
      description: 'The buffer distance, e.g. {"distance":1,"units":"esriKilometers"}; negative shrinks polygons.'
    },
    {
      name: "Dissolve",
      dataType: "GPBoolean",
      defaultValue: false,
      description: "Merge all buffers into one polygon (without attributes)."
    },
    {
      name: "Output_Features",
      dataType: "GPFeatureRecordSetLayer",
      direction: "output",
      geometryTypes: ["esriGeometryPolygon"]
    }
  ],
  execute: ({ Input_Features, Distance, Dissolve }, ctx) => {
    const km = EsriGeometry.toKilometers(Distance as EsriGeometry.LinearUnit)
    const input = EsriGeometry.toGeoJSON(Input_Features)
    const buffered = EsriGeometry.eachFeature(input.features.features, ctx, "Buffering feature", (feature) =>
      // Turf answers undefined when a negative distance swallows a polygon whole: that feature is dropped.
      feature.geometry === null
        ? undefined
        : (buffer(feature, km, { units: "kilometers", steps }) as Feature<Polygon | MultiPolygon> | undefined)
    ).flatMap((f, i) => (f === undefined ? [] : [{ ...f, properties: { ...input.features.features[i]?.properties } }]))
    ctx.signal.throwIfAborted()
    let features: Array<Feature> = buffered
    if (Dissolve === true) {
      ctx.progress(90, "Dissolving the buffers")
      const merged = buffered.length > 1 ? union({ type: "FeatureCollection", features: buffered }) : buffered[0]
      features = merged ? [{ ...merged, properties: {} }] : []
    }
    return {
      Output_Features: EsriGeometry.fromGeoJSON(
        { type: "FeatureCollection", features },
        { wkid: input.wkid, geometryType: "esriGeometryPolygon", fields: Dissolve === true ? [] : input.fields }
      )
    }
  }
})
