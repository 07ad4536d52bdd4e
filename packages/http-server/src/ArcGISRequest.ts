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
 * A request's parameters: the query string and the form (or JSON) body merged, the body winning, names as sent.
 *
 * @category constructors
 */
export const params = (request: FastifyRequest): Readonly<Record<string, string>> => {
  const merged: Record<string, string> = {}
  const add = (source: unknown) => {
    if (source === null || typeof source !== "object") return
    for (const [key, value] of Object.entries(source as Record<string, unknown>)) {
      if (value === undefined || value === null) continue
      // A repeated field arrives as an array: ArcGIS takes the last one.
      const last = Array.isArray(value) ? value.at(-1) : value
      merged[key] = typeof last === "string" ? last : JSON.stringify(last)
    }
  }
  add(request.query)
  add(request.body)
  return merged
}

/**
 * The `f` parameter; unknown values fall back to `fallback` (html in the directory, json for operations).
 *
 * @category constructors
 */
export const format = (p: Readonly<Record<string, string>>, fallback: Format = "html"): Format => {
  const f = (p.f ?? "").trim().toLowerCase()
  return f === "json" || f === "pjson" || f === "html" || f === "geojson" ? f : fallback
}

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
 *
 * @category constructors
 */
export const baseUrl = (request: FastifyRequest, contextPath: string, configured?: string): string => {
  if (configured) return configured.replace(/\/+$/, "")
  const forwarded = request.headers["x-forwarded-proto"]
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? request.protocol
  return `${proto}://${request.host}${contextPath}`
}
