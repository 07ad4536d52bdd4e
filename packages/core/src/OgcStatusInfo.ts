/**
 * The OGC API – Processes 1.0 `statusInfo` document for a job (`/jobs/<id>`), from the same job model: `jobID`,
 * `status` (the OGC column of the status table), `type: "process"`, `processID`, RFC 3339 instants, `progress` and
 * links (self, and results once successful).
 *
 * @module
 */
import { z } from "zod"
import type { Job } from "./Job.ts"
import * as JobStatus from "./JobStatus.ts"
import * as OgcLink from "./OgcLink.ts"

/**
 * The link relation OGC uses from a job to its results.
 *
 * @category models
 */
export const resultsRel = OgcLink.rels.results

/**
 * zod schema of statusInfo (OGC API – Processes 1.0, `statusInfo.yaml`).
 *
 * @category models
 */
export const schema = z.object({
  jobID: z.string(),
  status: z.enum(["accepted", "running", "successful", "failed", "dismissed"]),
  type: z.literal("process"),
  processID: z.string().optional(),
  message: z.string().optional(),
  created: z.iso.datetime({ offset: true }).optional(),
  started: z.iso.datetime({ offset: true }).optional(),
  finished: z.iso.datetime({ offset: true }).optional(),
  updated: z.iso.datetime({ offset: true }).optional(),
  progress: z.number().int().min(0).max(100).optional(),
  links: z.array(OgcLink.schema).optional()
})

/**
 * The statusInfo document.
 *
 * @category models
 */
export type OgcStatusInfo = z.output<typeof schema>

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * Renders a job (or its summary). `jobUrl` is the job's OGC URL (`…/jobs/<id>`); `processId` the OGC id of its task
 * (`OgcResource.processId`).
 *
 * @category constructors
 */
export const fromJob = (
  job: Pick<Job, "id" | "status" | "messages" | "progress" | "created" | "started" | "ended">,
  options: { readonly jobUrl: string; readonly processId: string }
): OgcStatusInfo => {
  const status = JobStatus.ogcStatus(job.status)
  const lastMessage = job.messages.at(-1)
  const updated = Math.max(job.created, job.started ?? 0, job.ended ?? 0, lastMessage?.time ?? 0)
  const doc: OgcStatusInfo = { jobID: job.id, status, type: "process", processID: options.processId }
  const message = job.progress?.message || lastMessage?.description
  if (message) doc.message = message
  doc.created = iso(job.created)
  if (job.started !== null) doc.started = iso(job.started)
  if (job.ended !== null) doc.finished = iso(job.ended)
  doc.updated = iso(updated)
  if (status === "successful") doc.progress = 100
  else if (job.progress?.type === "step") doc.progress = job.progress.percent
  const self = { href: options.jobUrl, rel: "self", type: "application/json", title: "Job status" }
  doc.links =
    status === "successful"
      ? [self, { href: `${options.jobUrl}/results`, rel: resultsRel, type: "application/json", title: "Job results" }]
      : [self]
  return doc
}
