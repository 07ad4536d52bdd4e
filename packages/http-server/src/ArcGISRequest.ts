/**
 * Reading an ArcGIS-style request: every route takes GET query strings and POST form bodies alike, values are literals
 * or JSON text, `f` picks the format (`html` by default in the directory), and a token may come in the `token` field,
 * `X-Esri-Authorization: Bearer` or `Authorization: Bearer`. Also the time and paging parameters of the admin query.
 *
 * @module
 */
import type { FastifyRequest } from "fastify"

/**
 * The formats GeoJobs answers in.
 *
 * @category models
 */
export type Format = "json" | "pjson" | "html" | "geojson"

/**
 * How deeply a parameter's JSON may nest. An Esri feature set with polygon rings is seven levels deep; ten thousand
 * levels are an attack on every recursive reader downstream (`JSON.stringify`, zod, the HTML renderer, the worker's
 * structured clone), refused before any of them sees it.
 *
 * @category models
 */
export const maxJsonDepth = 100

/**
 * How deeply JSON text nests (brackets outside strings), counting no further than `limit + 1`; one pass, no parse.
 *
 * @category guards
 */
export const textDepth = (text: string, limit: number): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      depth++
      if (depth > deepest) {
        deepest = depth
        if (deepest > limit) return deepest
      }
    } else if (c === 93 || c === 125) depth--
  }
  return deepest
}

/**
 * How deeply a parsed value nests, without recursion, counting no further than `limit + 1`.
 *
 * @category guards
 */
export const valueDepth = (value: unknown, limit: number): number => {
  let deepest = 0
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as readonly [unknown, number]
    if (v === null || typeof v !== "object") continue
    if (d + 1 > deepest) {
      deepest = d + 1
      if (deepest > limit) return deepest
    }
    for (const child of Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, d + 1])
  }
  return deepest
}

/**
 * A parsed field's value as the parameter text the routes read: a repeated field (an array) counts by its last value,
 * as ArcGIS takes it; a string as it is; anything else as JSON text, or empty when nested deeper than
 * {@link maxJsonDepth} ({@link tooDeep} names it). Shared by {@link params} and the body-parsing thread.
 *
 * @category constructors
 */
export const fieldText = (value: unknown): string => {
  const last: unknown = Array.isArray(value) ? value.at(-1) : value
  return typeof last === "string"
    ? last
    : valueDepth(last, maxJsonDepth) > maxJsonDepth
      ? ""
      : (JSON.stringify(last) ?? String(last))
}

/**
 * A request's parameters: the query string and the form (or JSON) body merged, the body winning, names as sent.
 * A JSON body's value nested deeper than {@link maxJsonDepth} reads as empty ({@link tooDeep} names it).
 *
 * @category constructors
 */
export const params = (request: FastifyRequest): Readonly<Record<string, string>> => {
  const merged: Record<string, string> = {}
  const add = (source: unknown) => {
    if (source === null || typeof source !== "object") return
    for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
      if (value === undefined || value === null) continue
      merged[key] = fieldText(value)
    }
  }
  add(request.query)
  add(request.body)
  return merged
}

const depthChecked = new WeakMap<
  FastifyRequest,
  { readonly keys: ReadonlySet<string>; readonly deep: string | undefined }
>()

/**
 * Records that the body fields `keys` were depth-checked already (off the main thread, by `RequestBody`), and the first
 * one found too deep, if any: {@link tooDeep} does not scan them again.
 *
 * @category constructors
 */
export const vouchDepth = (request: FastifyRequest, keys: ReadonlySet<string>, deep: string | undefined): void => {
  depthChecked.set(request, { keys, deep })
}

/**
 * The name of a parameter whose JSON nests deeper than {@link maxJsonDepth} (as text or in a JSON body), or
 * `"the request body"` when the body itself does; `undefined` when nothing does.
 *
 * @category constructors
 */
export const tooDeep = (request: FastifyRequest, p: Readonly<Record<string, string>>): string | undefined => {
  const checked = depthChecked.get(request)
  if (checked?.deep !== undefined) return checked.deep
  for (const [key, value] of Object.entries(p)) {
    if (checked?.keys.has(key) === true) continue
    if ((value.includes("[") || value.includes("{")) && textDepth(value, maxJsonDepth) > maxJsonDepth) return key
  }
  for (const source of [request.query, request.body]) {
    if (source === null || typeof source !== "object") continue
    if (Array.isArray(source)) {
      if (valueDepth(source, maxJsonDepth + 1) > maxJsonDepth + 1) return "the request body"
      continue
    }
    for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
      if (valueDepth(value, maxJsonDepth) > maxJsonDepth) return key
    }
  }
  return undefined
}

/**
 * The JSONP callback a request names: `valid` when it is a plain identifier path (`cb`, `dojo.io.script.jsonp_1`),
 * the only callbacks served as JavaScript; `refused` for anything else (`alert(1)//`); `none` when absent or empty.
 *
 * @category constructors
 */
export const callback = (
  p: Readonly<Record<string, string>>
): { readonly _tag: "none" } | { readonly _tag: "valid"; readonly name: string } | { readonly _tag: "refused" } => {
  const name = p.callback
  if (name === undefined || name === "") return { _tag: "none" }
  return name.length <= 128 && /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(name)
    ? { _tag: "valid", name }
    : { _tag: "refused" }
}

/**
 * The sign-in cookie's token, if the request has one. A value that is not valid percent-encoding is passed on as it
 * is (and then fails as an invalid token), never thrown.
 *
 * @category constructors
 */
export const cookieToken = (request: FastifyRequest): string | undefined => {
  const header = request.headers.cookie
  const match = header === undefined ? null : /(?:^|;\s*)geojobs_token=([^;]+)/.exec(header)
  const value = match?.[1]
  if (value === undefined) return undefined
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * The `f` parameter; unknown values fall back to `fallback` (html in the directory, json for operations).
 *
 * @category constructors
 */
export const format = (p: Readonly<Record<string, string>>, fallback: Format = "html"): Format => {
  const f = (p.f ?? "").trim().toLowerCase()
  if (f === "json" || f === "pjson" || f === "html" || f === "geojson") return f
  // A file format (results as files) is a machine's request: its errors, and any route that makes no files, answer JSON.
  return fileFormat(p) === undefined ? fallback : "json"
}

/**
 * The file formats a feature-set result can be fetched in (`…/results/<param>?f=…`), as the tools' `DataFormat`
 * writes them; GeoJSON is a {@link Format} of its own.
 *
 * @category models
 */
export type FileFormat = "shapefile" | "csv" | "kml" | "kmz" | "geopackage"

// The names `f` takes for each: DataFormat.parseFormat's (its aliases and media types; a test keeps them in step),
// kept here so that reading a request loads none of the format libraries.
const fileFormatNames: Readonly<Record<string, FileFormat>> = {
  shapefile: "shapefile",
  shp: "shapefile",
  zip: "shapefile",
  "shapefile zip": "shapefile",
  "application/zip": "shapefile",
  csv: "csv",
  txt: "csv",
  "text/csv": "csv",
  kml: "kml",
  "application/vnd.google-earth.kml+xml": "kml",
  kmz: "kmz",
  "application/vnd.google-earth.kmz": "kmz",
  geopackage: "geopackage",
  gpkg: "geopackage",
  "application/geopackage+sqlite3": "geopackage"
}

/**
 * The file format `f` names (`shapefile`, `shp`, `zip`, `csv`, `kml`, `kmz`, `geopackage`, `gpkg`, or a media type), if
 * it names one.
 *
 * @category constructors
 */
export const fileFormat = (p: Readonly<Record<string, string>>): FileFormat | undefined =>
  Object.hasOwn(fileFormatNames, (p.f ?? "").trim().toLowerCase())
    ? fileFormatNames[(p.f ?? "").trim().toLowerCase()]
    : undefined

/**
 * The token a request carries, if any: the `token` field, then `X-Esri-Authorization: Bearer`, then
 * `Authorization: Bearer`.
 *
 * @category constructors
 */
export const token = (request: FastifyRequest, p: Readonly<Record<string, string>>): string | undefined => {
  const field = p.token?.trim()
  if (field) return field
  for (const header of ["x-esri-authorization", "authorization"]) {
    const value = request.headers[header]
    const text = Array.isArray(value) ? value[0] : value
    const match = text === undefined ? null : /^Bearer\s+(\S+)$/i.exec(text.trim())
    if (match?.[1]) return match[1]
  }
  return undefined
}

/**
 * Whether the token came in a POST body (the admin API requires it there for POSTs).
 *
 * @category guards
 */
export const tokenInBody = (request: FastifyRequest): boolean =>
  typeof request.body === "object" &&
  request.body !== null &&
  typeof (request.body as Record<string, unknown>).token === "string" &&
  ((request.body as Record<string, unknown>).token as string).length > 0

/**
 * The Referer a token is checked against: the header only. A `referer=` field would let whoever holds a token bound to
 * a web app's origin use it from anywhere by naming that origin; browsers set the header and scripts on other
 * origins cannot forge it.
 *
 * @category constructors
 */
export const referer = (request: FastifyRequest): string | undefined => {
  const header = request.headers.referer ?? request.headers.referrer
  return Array.isArray(header) ? header[0] : header
}

/**
 * Reads an admin query time: ISO `yyyy-mm-ddThh:mm:ss` (UTC unless it says otherwise), or an epoch number in seconds or
 * milliseconds, told apart by magnitude (the docs use both). Answers milliseconds, `undefined` for empty, or `null`
 * when unreadable.
 *
 * @category constructors
 */
export const time = (value: string | undefined): number | undefined | null => {
  const text = value?.trim() ?? ""
  if (text === "") return undefined
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const n = Number(text)
    // 1e11 s is the year 5138; 1e11 ms is 1973: anything that large is milliseconds.
    return Math.abs(n) >= 1e11 ? Math.trunc(n) : Math.trunc(n * 1000)
  }
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`
  const ms = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(iso) : Number.NaN
  return Number.isFinite(ms) ? ms : null
}

/**
 * The public base URL of the server (scheme, host and context path) as this request reached it, unless configured.
 * Fastify reads `X-Forwarded-Proto` and `X-Forwarded-Host` into `protocol` and `host` only when `trustProxy` is set;
 * without it anyone could make the server advertise their host (the token URL in `rest/info`, every link).
 *
 * @category constructors
 */
export const baseUrl = (request: FastifyRequest, contextPath: string, configured?: string): string => {
  if (configured) return configured.replace(/\/+$/, "")
  return `${request.protocol}://${request.host}${contextPath}`
}
