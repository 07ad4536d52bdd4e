/**
 * Links as OGC API documents write them (`link.yaml` of OGC API – Processes 1.0): `href` with an optional `rel`,
 * media `type`, `hreflang` and `title`, and the link relations GeoJobs uses between its OGC resources.
 *
 * @module
 */
import { z } from "zod"

/**
 * zod schema of a link.
 *
 * @category models
 */
export const schema = z.object({
  href: z.string(),
  rel: z.string().optional(),
  type: z.string().optional(),
  hreflang: z.string().optional(),
  title: z.string().optional()
})

/**
 * A link.
 *
 * @category models
 */
export type OgcLink = z.output<typeof schema>

/**
 * The link relations of OGC API – Processes 1.0 (and of OGC API – Common, which it builds on).
 *
 * @category models
 */
export const rels = {
  self: "self",
  alternate: "alternate",
  next: "next",
  prev: "prev",
  up: "up",
  serviceDesc: "service-desc",
  serviceDoc: "service-doc",
  conformance: "http://www.opengis.net/def/rel/ogc/1.0/conformance",
  processes: "http://www.opengis.net/def/rel/ogc/1.0/processes",
  jobList: "http://www.opengis.net/def/rel/ogc/1.0/job-list",
  execute: "http://www.opengis.net/def/rel/ogc/1.0/execute",
  processDescription: "http://www.opengis.net/def/rel/ogc/1.0/processes",
  results: "http://www.opengis.net/def/rel/ogc/1.0/results",
  status: "status",
  monitor: "monitor"
} as const

/**
 * The media types the OGC resources answer in.
 *
 * @category models
 */
export const mediaTypes = {
  json: "application/json",
  html: "text/html",
  geojson: "application/geo+json",
  /** The OpenAPI 3.0 document (`service-desc`), exactly as OGC API – Common writes it. */
  openapi: "application/vnd.oai.openapi+json;version=3.0",
  text: "text/plain"
} as const

/**
 * A link.
 *
 * @category constructors
 */
export const make = (href: string, rel: string, type: string, title?: string | undefined): OgcLink =>
  title === undefined ? { href, rel, type } : { href, rel, type, title }
