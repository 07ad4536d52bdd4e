/**
 * The job URL builders of before {@link ArcGISResource} (the one ArcGIS grammar), kept as thin functions over it for
 * the callers that still use them (http-server, engine): the REST service, task and job URLs and the admin job URL
 * under a server base URL that includes its context path (`https://host/arcgis`). New code builds and parses with
 * `ArcGISResource.url` and `ArcGISResource.parseUrl`.
 *
 * @module
 */
import * as ArcGISResource from "./ArcGISResource.ts"
import type * as JobId from "./JobId.ts"
import type * as ServiceRef from "./ServiceRef.ts"

/**
 * The part of a service reference that appears in URLs.
 *
 * @category models
 */
export type ServicePath = ServiceRef.ServicePath

/**
 * `<base>/rest/services/[<folder>/]<Name>/GPServer`
 *
 * @category constructors
 */
export const restService = (baseUrl: string, service: ServicePath): string =>
  ArcGISResource.url(baseUrl, { _tag: "Service", service })

/**
 * `<base>/rest/services/[<folder>/]<Name>/GPServer/<task>`
 *
 * @category constructors
 */
export const restTask = (baseUrl: string, service: ServicePath, task: string): string =>
  ArcGISResource.url(baseUrl, { _tag: "Task", service, task })

/**
 * The admin job resource (the seed endpoint): `…/admin/services/[<folder>/]<Name>.GPServer/jobs/<id>`.
 *
 * @category constructors
 */
export const adminJob = (baseUrl: string, service: ServicePath, jobId: JobId.JobId): string =>
  ArcGISResource.url(baseUrl, ArcGISResource.adminJobOf(service, jobId))

/**
 * The REST task-level job resource: `…/rest/services/[<folder>/]<Name>/GPServer/<task>/jobs/<id>`.
 *
 * @category constructors
 */
export const restJob = (baseUrl: string, service: ServicePath, task: string, jobId: JobId.JobId): string =>
  ArcGISResource.url(baseUrl, ArcGISResource.jobOf(service, task, jobId))

/**
 * The REST service-level job resource, the seed's `url`: `…/rest/services/[<folder>/]<Name>/GPServer/jobs/<id>`.
 *
 * @category constructors
 */
export const restServiceJob = (baseUrl: string, service: ServicePath, jobId: JobId.JobId): string =>
  ArcGISResource.url(baseUrl, ArcGISResource.jobOf(service, undefined, jobId))
