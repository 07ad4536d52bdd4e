/**
 * The OGC API – Processes 1.0 documents around processes and jobs: the landing page, the conformance declaration (and
 * the conformance classes GeoJobs declares), and the job list. Process documents are `OgcProcess`, a job's status
 * `OgcStatusInfo`.
 *
 * @module
 */
import { z } from "zod"
import * as OgcLink from "./OgcLink.ts"
import * as OgcStatusInfo from "./OgcStatusInfo.ts"

/**
 * zod schema of the landing page (`landingPage.yaml`).
 *
 * @category models
 */
export const landingSchema = z.object({
  title: z.string().optional(),
  description: z.string().optional(),
  links: z.array(OgcLink.schema)
})

/** The landing page. @category models */
export type Landing = z.output<typeof landingSchema>

/**
 * zod schema of the conformance declaration (`confClasses.yaml`).
 *
 * @category models
 */
export const conformanceSchema = z.object({ conformsTo: z.array(z.string()) })

/** The conformance declaration. @category models */
export type Conformance = z.output<typeof conformanceSchema>

const conf = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"

/**
 * The 1.0 conformance classes GeoJobs declares and meets (`callback`: an asynchronous execute request's `subscriber`
 * is kept with its job and its callbacks are delivered, see `Callback`).
 *
 * @category models
 */
export const conformanceClasses = [
  `${conf}core`,
  `${conf}ogc-process-description`,
  `${conf}json`,
  `${conf}html`,
  `${conf}oas30`,
  `${conf}job-list`,
  `${conf}dismiss`,
  `${conf}callback`
] as const

/**
 * zod schema of the job list (`jobList.yaml`).
 *
 * @category models
 */
export const jobListSchema = z.object({
  jobs: z.array(OgcStatusInfo.schema),
  links: z.array(OgcLink.schema)
})

/** The job list. @category models */
export type JobList = z.output<typeof jobListSchema>
