/**
 * The admin job API's wire documents besides the job itself: a page of the jobs query (`…/jobs/query`, 1-based
 * paging with `nextStart` -1 after the last page, and the filters as the server read them), the statistics
 * (`…/jobs/statistics`) and the answer of the POST operations cancel, delete and purgeQueue (`{"status":"success"}`;
 * a failure is the admin error envelope, see `ErrorEnvelope`).
 *
 * @module
 */
import { z } from "zod"
import * as AdminJob from "./AdminJob.ts"

/**
 * zod schema of a query page. `query` echoes the filters (a GeoJobs server sends it; other servers may not).
 *
 * @category models
 */
export const pageSchema = z.looseObject({
  total: z.number(),
  query: z
    .looseObject({
      serviceName: z.string(),
      folderName: z.string(),
      userName: z.string(),
      jobStatus: z.string(),
      startTime: z.string(),
      endTime: z.string(),
      number: z.number()
    })
    .optional(),
  num: z.number(),
  start: z.number(),
  nextStart: z.number(),
  results: z.array(AdminJob.schema)
})

/** A query page. @category models */
export type Page = z.output<typeof pageSchema>

/**
 * zod schema of the statistics: jobs in total and per end state (`failed` counts timed-out jobs too).
 *
 * @category models
 */
export const statisticsSchema = z.looseObject({
  total: z.number(),
  cancelled: z.number(),
  failed: z.number(),
  succeeded: z.number()
})

/** The statistics. @category models */
export type Statistics = z.output<typeof statisticsSchema>

/**
 * zod schema of a successful admin operation's answer.
 *
 * @category models
 */
export const operationSchema = z.looseObject({ status: z.literal("success") })

/** A successful admin operation's answer. @category models */
export type Operation = z.output<typeof operationSchema>
