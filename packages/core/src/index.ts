/**
 * `@geojobs/core`: the GeoJobs job model. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as AdminJob from "./AdminJob.ts"
export * as AdminQuery from "./AdminQuery.ts"
export * as ArcGISResource from "./ArcGISResource.ts"
export * as EncodedValue from "./EncodedValue.ts"
export * as Entropy from "./Entropy.ts"
export * as ErrorEnvelope from "./ErrorEnvelope.ts"
export * as Job from "./Job.ts"
export * as JobError from "./JobError.ts"
export * as JobFiles from "./JobFiles.ts"
export * as JobId from "./JobId.ts"
export * as JobLifecycle from "./JobLifecycle.ts"
export * as JobQueue from "./JobQueue.ts"
export * as JobStatus from "./JobStatus.ts"
export * as JobStore from "./JobStore.ts"
export * as JobUrls from "./JobUrls.ts"
export * as OgcStatusInfo from "./OgcStatusInfo.ts"
export * as RestJob from "./RestJob.ts"
export * as SecurityStore from "./SecurityStore.ts"
export * as ServiceDirectory from "./ServiceDirectory.ts"
export * as ServiceRef from "./ServiceRef.ts"
export * as Token from "./Token.ts"
