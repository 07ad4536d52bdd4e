/**
 * KML and KMZ files: read with @tmcw/togeojson over an @xmldom/xmldom document, written with @placemarkio/tokml, the
 * KMZ zip with fflate. KML is WGS84 lon/lat. A placemark's `name` and `description` and its ExtendedData values become
 * attributes (style properties are left out); their types are read off the values, as KML keeps text. A `null`
 * attribute is written as no Data element, so it reads back as `null`.
 *
 * @module
 */

import { toKML } from "@placemarkio/tokml"
import { type F, kml } from "@tmcw/togeojson"
import { DOMParser } from "@xmldom/xmldom"
import { Effect } from "effect"
import { strToU8, unzipSync, zipSync } from "fflate"
import type { Feature, Geometry } from "geojson"
import { BadArchive, CannotWrite, describe, MissingPart, UnreadableData } from "./DataFormatError.ts"
import * as FeatureLayer from "./FeatureLayer.ts"

// What togeojson adds from styles, not the data.
const styleKeys = new Set(["styleUrl", "styleHash", "styleMapHash", "visibility", "timespan", "timestamp", "icon"])
const isStyle = (key: string) => styleKeys.has(key) || /^(stroke|fill|marker|icon|label)(-|$)/.test(key)

/**
 * Reads KML text into a layer (in WGS84).
 *
 * @category constructors
 */
export const readKml = (
  bytes: Uint8Array,
  name = "features",
  format = "KML"
): Effect.Effect<FeatureLayer.FeatureLayer, UnreadableData> =>
  Effect.gen(function* () {
    const text = new TextDecoder().decode(bytes)
    const collection = yield* Effect.try({
      try: () => {
        const errors: Array<string> = []
        const document = new DOMParser({
          onError: (level, message) => {
            if (level !== "warning") errors.push(message)
          }
        }).parseFromString(text, "text/xml")
        if (errors.length > 0) throw new Error(errors[0])
        if (document.getElementsByTagName("kml").length === 0) throw new Error("no <kml> element")
        return kml(document as unknown as Parameters<typeof kml>[0])
      },
      catch: (cause) => new UnreadableData({ format, detail: describe(cause) })
    })
    const features = collection.features as ReadonlyArray<F | Feature<Geometry | null>>
    const names = [...new Set(features.flatMap((f) => Object.keys(f.properties ?? {})))].filter((k) => !isStyle(k))
    const typed = FeatureLayer.typeColumns(
      names,
      features.map((f) => f.properties ?? {})
    )
    return yield* FeatureLayer.make(format, {
      name,
      spatialReference: { wkid: 4326, latestWkid: 4326 },
      fields: typed.fields,
      features: features.map((f, i) => ({ geometry: f.geometry ?? null, attributes: typed.rows[i] ?? {} }))
    })
  })

/**
 * Reads a KMZ (a zip whose `doc.kml`, or first `.kml`, is the document).
 *
 * @category constructors
 */
export const readKmz = (
  bytes: Uint8Array,
  name = "features"
): Effect.Effect<FeatureLayer.FeatureLayer, BadArchive | MissingPart | UnreadableData> =>
  Effect.gen(function* () {
    const files = yield* Effect.try({
      try: () => unzipSync(bytes),
      catch: (cause) => new BadArchive({ format: "KMZ", detail: describe(cause) })
    })
    const paths = Object.keys(files).filter((p) => p.toLowerCase().endsWith(".kml"))
    const path = paths.find((p) => p.toLowerCase() === "doc.kml") ?? paths.sort()[0]
    if (path === undefined) return yield* new MissingPart({ format: "KMZ", part: ".kml document" })
    return yield* readKml(files[path] as Uint8Array, name, "KMZ")
  })

/**
 * Writes a layer (in WGS84) as KML: one Placemark per feature, the attributes as ExtendedData (dates as ISO 8601).
 *
 * @category constructors
 */
export const writeKml = (layer: FeatureLayer.FeatureLayer): Effect.Effect<Uint8Array, CannotWrite> =>
  Effect.try({
    try: () => {
      const fields = FeatureLayer.allFields(layer)
      const text = toKML({
        type: "FeatureCollection",
        features: layer.features.map((f) => ({
          type: "Feature",
          geometry: f.geometry,
          properties: Object.fromEntries(
            fields.flatMap((field) => {
              const value = FeatureLayer.textOf(field, f.attributes[field.name])
              return value === undefined ? [] : [[field.name, value]]
            })
          )
        }))
      })
      return strToU8(text)
    },
    catch: (cause) => new CannotWrite({ format: "KML", detail: describe(cause) })
  })

/**
 * Writes a layer as a KMZ: its KML zipped as `doc.kml`.
 *
 * @category constructors
 */
export const writeKmz = (layer: FeatureLayer.FeatureLayer): Effect.Effect<Uint8Array, CannotWrite> =>
  Effect.map(writeKml(layer), (kmlBytes) => zipSync({ "doc.kml": kmlBytes }))
