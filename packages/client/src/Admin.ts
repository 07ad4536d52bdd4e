/**
 * The client's admin job API over a `Session`: the seed document (`…/<Name>.GPServer/jobs/<id>`), one page of the
 * jobs query, cancel, delete, purgeQueue and the statistics, and starting and stopping a service. Every URL comes from core's `ArcGISResource`; every
 * answer is checked against core's `AdminJob` and `AdminQuery` schemas.
 *
 * @module
 */
import { AdminJob, AdminQuery, ArcGISResource } from "@geojobs/core"
import { Effect } from "effect"
import type { z } from "zod"
import type { ClientError } from "./ClientError.ts"
import { servicePath } from "./Jobs.ts"
import type { Session } from "./Session.ts"

/** Admin query filters. @category models */
export interface QueryOptions {
  readonly jobStatus?: string | undefined
  readonly userName?: string | undefined
  /** ISO text, seconds or milliseconds since the epoch. */
  readonly startTime?: string | number | undefined
  readonly endTime?: string | number | undefined
  /** Page size (default 100). */
  readonly number?: number | undefined
}

/**
 * The admin operations.
 *
 * @category services
 */
export interface Admin {
  readonly job: (service: string, jobId: string) => Effect.Effect<AdminJob.AdminJob, ClientError>
  readonly page: (
    service: string,
    options: QueryOptions & { readonly start?: number | undefined }
  ) => Effect.Effect<AdminQuery.Page, ClientError>
  readonly cancel: (service: string, jobId: string) => Effect.Effect<void, ClientError>
  readonly delete: (service: string, jobId: string) => Effect.Effect<void, ClientError>
  readonly purgeQueue: (service: string) => Effect.Effect<void, ClientError>
  readonly statistics: (service: string) => Effect.Effect<AdminQuery.Statistics, ClientError>
  /**
   * Starts or stops a service (`admin/services/<folder>/<Name>.GPServer/start|stop`): a stopped service refuses new
   * jobs and lets running ones finish.
   */
  readonly setServiceStatus: (service: string, operation: "start" | "stop") => Effect.Effect<void, ClientError>
}

/**
 * Makes the admin operations over a session.
 *
 * @category constructors
 */
export const make = (session: Session): Admin => {
  const at = <S extends z.ZodType>(
    service: string,
    resource: (s: ArcGISResource.ServicePath) => ArcGISResource.ArcGISResource,
    fields: Readonly<Record<string, string>>,
    schema: S
  ) => Effect.flatMap(servicePath(service), (s) => session.request(resource(s), fields, schema))
  return {
    job: (service, jobId) => at(service, (s) => ArcGISResource.adminJobOf(s, jobId), {}, AdminJob.schema),
    page: (service, q) =>
      at(
        service,
        (s) => ({ _tag: "AdminJobs", service: s, operation: "query" }),
        Object.fromEntries(
          Object.entries({ ...q, number: q.number ?? 100 })
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, String(v)])
        ),
        AdminQuery.pageSchema
      ),
    cancel: (service, jobId) =>
      Effect.asVoid(
        at(service, (s) => ArcGISResource.adminJobOf(s, jobId, { kind: "cancel" }), {}, AdminQuery.operationSchema)
      ),
    delete: (service, jobId) =>
      Effect.asVoid(
        at(service, (s) => ArcGISResource.adminJobOf(s, jobId, { kind: "delete" }), {}, AdminQuery.operationSchema)
      ),
    purgeQueue: (service) =>
      Effect.asVoid(
        at(service, (s) => ({ _tag: "AdminJobs", service: s, operation: "purgeQueue" }), {}, AdminQuery.operationSchema)
      ),
    statistics: (service) =>
      at(service, (s) => ({ _tag: "AdminJobs", service: s, operation: "statistics" }), {}, AdminQuery.statisticsSchema),
    setServiceStatus: (service, operation) =>
      Effect.asVoid(
        at(service, (s) => ({ _tag: "AdminService", service: s, operation }), {}, AdminQuery.operationSchema)
      )
  }
}
