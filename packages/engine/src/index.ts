/**
 * `@geojobs/engine`: the GeoJobs job runtime. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as Engine from "./Engine.ts"
export * as EngineError from "./EngineError.ts"
export * as ServiceRegistry from "./ServiceRegistry.ts"
export * as WorkerProtocol from "./WorkerProtocol.ts"
