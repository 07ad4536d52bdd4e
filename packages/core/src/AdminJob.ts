/**
 * The admin job document — the seed of GeoJobs: what `GET …/admin/services/[<folder>/]<Name>.GPServer/jobs/<id>`
 * answers, exactly the seed page's keys in the seed page's order. Times are seconds since the epoch, as in the seed's
 * example (the page's table says milliseconds; its example and the newer query page use seconds); `null` for an
 * instant not reached yet.
 *
 * @module
 */
import { z } from "zod"
import * as ArcGISResource from "./ArcGISResource.ts"
import type { JobSummary } from "./Job.ts"
import * as JobId from "./JobId.ts"
import * as JobStatus from "./JobStatus.ts"

const seconds = z.number().int().nonnegative()

/**
 * zod schema of the admin job document. Strict: no key beyond the seed's.
 *
 * @category models
 */
export const schema = z
  .object({
    status_code: z.number().int().min(0).max(10),
    job_id: JobId.schema,
    service_id: z.string().min(1),
    job_created: seconds,
    job_execution_start: seconds.nullable(),
    job_execution_end: seconds.nullable(),
    url: z.string().min(1),
    revision: z.string().regex(/^\d+$/),
    status: JobStatus.schema,
    username: z.string().nullable()
  })
  .strict()

/**
 * The admin job document.
 *
 * @category models
 */
export type AdminJob = z.output<typeof schema>

const toSeconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000))

/**
 * Renders a job; `baseUrl` is the server's public URL with its context path (`https://host/arcgis`).
 *
 * @category constructors
 */
export const fromJob = (job: JobSummary, options: { readonly baseUrl: string }): AdminJob => ({
  status_code: JobStatus.code(job.status),
  job_id: job.id,
  service_id: job.service.serviceId,
  job_created: Math.floor(job.created / 1000),
  job_execution_start: toSeconds(job.started),
  job_execution_end: toSeconds(job.ended),
  url: ArcGISResource.url(options.baseUrl, ArcGISResource.jobOf(job.service, undefined, job.id)),
  revision: String(job.revision),
  status: job.status,
  username: job.user
})
