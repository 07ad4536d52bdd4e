/**
 * `@geojobs/engine`: the GeoJobs job runtime. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as CallbackDelivery from "./CallbackDelivery.ts"
export * as Completion from "./Completion.ts"
export * as Dispatcher from "./Dispatcher.ts"
export * as Engine from "./Engine.ts"
export * as EngineError from "./EngineError.ts"
export * as FeatureInputs from "./FeatureInputs.ts"
export * as InputStaging from "./InputStaging.ts"
export * as Lease from "./Lease.ts"
export * as LocalJobFiles from "./LocalJobFiles.ts"
export * as LocalUploads from "./LocalUploads.ts"
export * as Recovery from "./Recovery.ts"
export * as RemoteInput from "./RemoteInput.ts"
export * as Retention from "./Retention.ts"
export * as ServiceRegistry from "./ServiceRegistry.ts"
export * as StoredJob from "./StoredJob.ts"
export * as UrlGuard from "./UrlGuard.ts"
export * as WorkerLimits from "./WorkerLimits.ts"
export * as WorkerProtocol from "./WorkerProtocol.ts"
export * as WorkerRunner from "./WorkerRunner.ts"
