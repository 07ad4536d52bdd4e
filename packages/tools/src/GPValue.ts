/**
 * Decoding and checking GP parameter values as ArcGIS clients send them (arcgis-api.md §5.3): form fields holding
 * literals, JSON text or comma lists, `""` for "nothing" (the ArcGIS API for Python sends None that way), booleans as
 * "true"/"false", dates as epoch milliseconds or ISO text. Runs on the main thread at submit time, so a bad value is
 * refused — with a message naming the parameter and what was expected — before any job exists.
 *
 * @module
 */
import type { Job } from "@geojobs/core"
import * as EncodedValue from "@geojobs/core/EncodedValue"
import { Data, Effect } from "effect"
import { z } from "zod"
import { fromGeoJSONInput, GeometryError } from "./EsriGeometry.ts"
import { type DataType, inputs, type Parameter, type ScalarType, type ToolDefinition } from "./Tool.ts"

/**
 * A value a parameter cannot take.
 *
 * @category errors
 */
export class InvalidParameter extends Data.TaggedError("InvalidParameter")<{
  readonly parameter: string
  readonly expected: string
  readonly received: string
}> {
  override get message(): string {
    return `Invalid value for parameter ${this.parameter}: expected ${this.expected}, got ${this.received}.`
  }
}

/** The largest integer a GPLong takes (ArcGIS 11.2: ±4503599627370495). @category models */
export const maxLong = 4_503_599_627_370_495

/**
 * The GPLinearUnit units (arcgis-api.md §5.3).
 *
 * @category models
 */
export const linearUnits = [
  "esriUnknownUnits",
  "esriInches",
  "esriPoints",
  "esriFeet",
  "esriYards",
  "esriMiles",
  "esriNauticalMiles",
  "esriMillimeters",
  "esriCentimeters",
  "esriMeters",
  "esriKilometers",
  "esriDecimalDegrees",
  "esriDecimeters",
  "esriIntInches",
  "esriIntFeet",
  "esriIntYards",
  "esriIntMiles",
  "esriIntNauticalMiles"
] as const

/** A GPLinearUnit value. @category models */
export interface LinearUnit {
  readonly distance: number
  readonly units: (typeof linearUnits)[number]
}

const esriFeatureSet = z.looseObject({
  geometryType: z.string().optional(),
  spatialReference: z.looseObject({}).optional(),
  fields: z.array(z.looseObject({ name: z.string() })).optional(),
  features: z.array(
    z.looseObject({
      geometry: z.looseObject({}).nullable().optional(),
      attributes: z.record(z.string(), z.unknown()).nullable().optional()
    })
  )
})
const recordSet = z.looseObject({
  fields: z.array(z.looseObject({ name: z.string() })).optional(),
  features: z.array(z.looseObject({ attributes: z.record(z.string(), z.unknown()).nullable().optional() }))
})
const dataFile = z.union([
  z.looseObject({ url: z.string().regex(/^https?:\/\//, "an http(s) URL") }),
  z.looseObject({ itemID: z.string().min(1) })
])

/** An uploaded item named as a value (`{"itemID":"…"}`, arcgis-api.md §5.3): the engine checks and stages it. */
/** `{"url":"http(s)://…"}` without features: a file of features the server fetches before the run. */
const urlReference = (value: unknown): value is { readonly url: string } =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as { url?: unknown }).url === "string" &&
  /^https?:\/\//i.test((value as { url: string }).url) &&
  !("features" in value)

const itemReference = (value: unknown): value is { readonly itemID: string } =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as { itemID?: unknown }).itemID === "string" &&
  (value as { itemID: string }).itemID !== "" &&
  !("features" in value)

const show = (raw: unknown): string => {
  const text = typeof raw === "string" ? JSON.stringify(raw) : (JSON.stringify(raw) ?? String(raw))
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** Parses JSON text when the client sent text; objects sent as objects pass through. */
const json = (raw: unknown): { readonly ok: boolean; readonly value: unknown } => {
  if (typeof raw !== "string") return { ok: true, value: raw }
  try {
    return { ok: true, value: JSON.parse(raw) }
  } catch {
    return { ok: false, value: raw }
  }
}

/** `text`: the JSON text the value is exactly the meaning of, when the client sent it so (kept, never re-encoded). */
type Decoded =
  | { readonly ok: true; readonly value: unknown; readonly text?: string | undefined }
  | { readonly ok: false; readonly expected: string }
const good = (value: unknown, text?: string): Decoded => ({ ok: true, value, text })
const bad = (expected: string): Decoded => ({ ok: false, expected })

const inRange = (p: Parameter, n: number, what: string): Decoded => {
  const { minimum, maximum } = p.range ?? {}
  if ((minimum !== undefined && n < minimum) || (maximum !== undefined && n > maximum)) {
    return bad(`${what} from ${minimum ?? "-∞"} to ${maximum ?? "∞"}`)
  }
  return good(n)
}

const number = (raw: unknown): number | undefined => {
  if (typeof raw === "number") return raw
  if (typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw))) return Number(raw)
  return undefined
}

const decoders: { readonly [T in ScalarType]: (p: Parameter, raw: unknown) => Decoded } = {
  GPString: (p, raw) => {
    const text =
      typeof raw === "string" ? raw : typeof raw === "number" || typeof raw === "boolean" ? String(raw) : undefined
    if (text === undefined) return bad("a string")
    if (p.choiceList !== undefined && !p.choiceList.includes(text)) return bad(`one of ${p.choiceList.join(", ")}`)
    return good(text)
  },
  GPLong: (p, raw) => {
    const n = number(raw)
    if (n === undefined || !Number.isInteger(n) || Math.abs(n) > maxLong)
      return bad(`an integer (GPLong, at most ±${maxLong})`)
    return inRange(p, n, "an integer")
  },
  GPDouble: (p, raw) => {
    const n = number(raw)
    if (n === undefined || !Number.isFinite(n)) return bad("a number (GPDouble)")
    return inRange(p, n, "a number")
  },
  GPBoolean: (_p, raw) => {
    if (typeof raw === "boolean") return good(raw)
    const word = typeof raw === "string" ? raw.trim().toLowerCase() : undefined
    return word === "true" ? good(true) : word === "false" ? good(false) : bad("true or false")
  },
  GPDate: (_p, raw) => {
    const n = number(raw)
    if (n !== undefined) return Number.isInteger(n) ? good(n) : bad("milliseconds since the epoch or an ISO date")
    const parsed = json(raw)
    const text =
      typeof raw === "string" && !parsed.ok
        ? raw
        : typeof parsed.value === "object" && parsed.value !== null
          ? (parsed.value as { date?: unknown }).date
          : raw
    // ArcGIS's own example writes milliseconds after a colon (`14:00:00:000`); read it as a dot.
    const iso = typeof text === "string" ? text.trim().replace(/(T\d\d:\d\d:\d\d):(\d{1,3})$/, "$1.$2") : undefined
    const ms = iso === undefined || !/^\d{4}-\d\d-\d\d/.test(iso) ? Number.NaN : Date.parse(iso)
    return Number.isFinite(ms) ? good(ms) : bad("milliseconds since the epoch or an ISO date (yyyy-MM-ddTHH:mm:ss)")
  },
  GPLinearUnit: (p, raw) => {
    const parsed = json(raw)
    const expected = `a linear unit such as {"distance":5,"units":"esriKilometers"} (units one of ${linearUnits.join(", ")})`
    if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null) return bad(expected)
    const { distance, units } = parsed.value as { distance?: unknown; units?: unknown }
    const d = number(distance)
    if (d === undefined) return bad(expected)
    const u = units ?? "esriMeters"
    if (!linearUnits.includes(u as LinearUnit["units"])) return bad(expected)
    const ranged = inRange(p, d, "a distance")
    return ranged.ok ? good({ distance: d, units: u }) : ranged
  },
  GPFeatureRecordSetLayer: (p, raw) => {
    const parsed = json(raw)
    // An uploaded file of features (a zipped shapefile, GeoJSON, …), read into a feature set before the tool runs.
    if (parsed.ok && itemReference(parsed.value)) return good({ itemID: parsed.value.itemID })
    // A file of features by URL (GeoJSON — a feature service's `query?f=geojson` —, a zipped shapefile, …): fetched
    // by the server, behind its address rules, and read into a feature set before the tool runs.
    if (parsed.ok && urlReference(parsed.value)) return good({ url: parsed.value.url })
    if (parsed.ok && typeof parsed.value === "object" && parsed.value !== null && "url" in parsed.value) {
      return bad('a feature set with its features, {"itemID":…} or {"url":"https://…"}')
    }
    let value = parsed.value
    let converted = false
    try {
      const esri = fromGeoJSONInput(parsed.value)
      converted = esri !== undefined
      value = esri ?? parsed.value
    } catch (e) {
      if (e instanceof GeometryError) return bad(`a feature set (${e.message})`)
      throw e
    }
    const result = esriFeatureSet.safeParse(value)
    if (!parsed.ok || !result.success)
      return bad("an Esri JSON feature set {geometryType, spatialReference, features:[…]} or GeoJSON")
    const type = result.data.geometryType
    if (p.geometryTypes !== undefined && type !== undefined && !p.geometryTypes.includes(type)) {
      return bad(`features of geometry type ${p.geometryTypes.join(" or ")}`)
    }
    return good(result.data, !converted && typeof raw === "string" ? raw : undefined)
  },
  GPRecordSet: (_p, raw) => {
    const parsed = json(raw)
    if (parsed.ok && itemReference(parsed.value)) return good({ itemID: parsed.value.itemID })
    if (parsed.ok && urlReference(parsed.value)) return good({ url: parsed.value.url })
    const result = recordSet.safeParse(parsed.value)
    return parsed.ok && result.success
      ? good(result.data, typeof raw === "string" ? raw : undefined)
      : bad("a record set {fields, features:[{attributes}]}")
  },
  GPDataFile: (_p, raw) => {
    const parsed = json(raw)
    const result = dataFile.safeParse(parsed.value)
    return parsed.ok && result.success ? good(result.data) : bad('a data file {"url":"https://…"} or {"itemID":"…"}')
  }
}

const isEmpty = (raw: unknown) => raw === undefined || raw === null || raw === ""

const memberType = (dataType: DataType): ScalarType | undefined =>
  dataType.startsWith("GPMultiValue:") ? (dataType.slice("GPMultiValue:".length) as ScalarType) : undefined

const decodeOne = (p: Parameter, raw: unknown): Decoded => {
  const member = memberType(p.dataType)
  if (member === undefined) return decoders[p.dataType as ScalarType](p, raw)
  // A JSON array (arcgis-rest-js submitJob), an array, or a comma list of primitives (its generic request()).
  const parsed = json(raw)
  const items = Array.isArray(parsed.value)
    ? parsed.value
    : typeof raw === "string" && !raw.trim().startsWith("[")
      ? raw.split(",").map((s) => s.trim())
      : undefined
  if (items === undefined) return bad(`a JSON array or a comma-separated list of ${member} values`)
  const values: Array<unknown> = []
  for (const [i, item] of items.entries()) {
    const decoded = decoders[member](p, item)
    if (!decoded.ok) return bad(`item ${i + 1} to be ${decoded.expected}`)
    values.push(decoded.value)
  }
  return good(values)
}

/**
 * Whether a parameter must be given (inputs without a default, unless marked optional).
 *
 * @category guards
 */
export const isRequired = (p: Parameter): boolean =>
  (p.direction ?? "input") === "input" && p.required !== false && p.defaultValue === undefined

/**
 * Decodes one parameter's value; empty values take the default, or fail when the parameter is required.
 *
 * @category constructors
 */
export const decodeParameter = (p: Parameter, raw: unknown): Effect.Effect<unknown, InvalidParameter> =>
  Effect.map(decodeWithText(p, raw), (d) => d.value)

/** {@link decodeParameter}, with the client's JSON text of the value when it is exactly that. */
const decodeWithText = (
  p: Parameter,
  raw: unknown
): Effect.Effect<{ readonly value: unknown; readonly text?: string | undefined }, InvalidParameter> => {
  if (isEmpty(raw)) {
    if (p.defaultValue !== undefined) return Effect.succeed({ value: p.defaultValue })
    if (isRequired(p)) {
      return Effect.fail(
        new InvalidParameter({ parameter: p.name, expected: `a value (${p.name} is required)`, received: "nothing" })
      )
    }
    return Effect.succeed({ value: null })
  }
  const decoded = decodeOne(p, raw)
  return decoded.ok
    ? Effect.succeed(decoded)
    : Effect.fail(new InvalidParameter({ parameter: p.name, expected: decoded.expected, received: show(raw) }))
}

/**
 * Decodes every input of a tool from the submitted fields (other fields — `f`, `token`, `env:outSR`, … — are
 * ignored) into the values stored with the job.
 *
 * @category constructors
 */
export const decodeInputs = (
  tool: ToolDefinition,
  raw: Readonly<Record<string, unknown>>
): Effect.Effect<Record<string, Job.JobValue>, InvalidParameter> =>
  Effect.map(
    Effect.forEach(inputs(tool), (p) =>
      Effect.map(decodeWithText(p, raw[p.name]), ({ value, text }) => {
        // A feature set is kept as the text the client sent, and the decoded copy checked here is let go: the server
        // never encodes it again, nor holds it twice in memory (issue 10).
        const jobValue: Job.JobValue =
          text === undefined ? { dataType: p.dataType, value } : EncodedValue.lazy({ dataType: p.dataType, json: text })
        return [p.name, jobValue] as const
      })
    ),
    (pairs) => Object.fromEntries(pairs)
  )
