/**
 * The published geoprocessing services as the engine runs them: each service's reference and settings (ArcGIS's
 * max instances, max usage time and jobs-directory cleanup: `maxConcurrentJobs`, `maxExecutionTime`, `jobRetention`)
 * and its tasks — where each task's tool module lives (for the worker threads) and how its inputs are decoded and
 * checked (on the main thread, before a job exists).
 *
 * @module
 */
import { type Job, JobLifecycle, type JobUrls, ServiceRef } from "@geojobs/core"
import { type GPValue, ServicesFile, type Tool } from "@geojobs/tools"
import { Context, Effect, Layer } from "effect"
import * as InputDecoder from "./InputDecoder.ts"
import type * as WorkerLimits from "./WorkerLimits.ts"

/**
 * A task as the engine needs it.
 *
 * @category models
 */
export interface TaskDefinition {
  readonly name: string
  /** The URL of the module that exports the tool, imported inside worker threads. */
  readonly moduleUrl: string
  /** The export holding the tool; `default` when absent. */
  readonly exportName?: string | undefined
  /** A retryable task interrupted by a restart is queued again instead of failed. */
  readonly retryable: boolean
  /** How the tool uses its thread (its `execution`): `cpu` (the default) alone on one, `io` sharing one. */
  readonly execution?: "cpu" | "io" | undefined
  /** Decodes and checks submitted parameters into the values stored with the job. */
  readonly decodeInputs: (
    raw: Readonly<Record<string, unknown>>
  ) => Effect.Effect<Record<string, Job.JobValue>, GPValue.InvalidParameter>
  /** The tool itself, when loaded on this thread (for describing the task). */
  readonly tool?: Tool.Tool | undefined
}

/**
 * A service as the engine runs it. Durations are milliseconds.
 *
 * @category models
 */
export interface ServiceDefinition {
  readonly ref: ServiceRef.ServiceRef
  readonly description: string
  readonly executionType: "async" | "sync"
  readonly maxConcurrentJobs: number
  readonly maxExecutionTimeMs: number
  readonly jobRetentionMs: number
  readonly tasks: ReadonlyMap<string, TaskDefinition>
  /** `public`, or the roles that may use the service. */
  readonly access: "public" | { readonly roles: ReadonlyArray<string> }
  /** The memory of this service's worker threads, over the engine's `workerLimits` (like ArcGIS's per-service heap size). */
  readonly workerLimits?: WorkerLimits.Settings | undefined
  /**
   * How many runs a job of a retryable task gets in all when runs are interrupted (a node stopped responding, a
   * shutdown); past it the job is Failed. Default {@link defaultMaxAttempts}. Non-retryable tasks run once.
   */
  readonly maxAttempts?: number | undefined
  /**
   * ArcGIS's Uploads capability (`…/GPServer/uploads`), when the service has it: the largest file in bytes and how
   * long an uploaded item is kept.
   */
  readonly uploads?: { readonly maxBytes: number; readonly retentionMs: number } | undefined
}

/**
 * How a service's jobs use their threads: `io` when every task of it says so (its jobs then share threads), else
 * `cpu`. Per service, as the store's claim limits are.
 *
 * @category getters
 */
export const executionOf = (service: ServiceDefinition): "cpu" | "io" =>
  service.tasks.size > 0 && [...service.tasks.values()].every((t) => t.execution === "io") ? "io" : "cpu"

/** The runs a retryable task's job gets when no `maxAttempts` is set (pg-boss's default of two retries). @category models */
export const defaultMaxAttempts = 3

/** ArcGIS's defaults: 600 s max usage time, the 360-minute jobs-directory cleanup. @category models */
export const defaults = { maxConcurrentJobs: 2, maxExecutionTimeMs: 600_000, jobRetentionMs: 6 * 3_600_000 } as const

/**
 * The registry service.
 *
 * @category services
 */
export class ServiceRegistry extends Context.Service<
  ServiceRegistry,
  {
    readonly services: ReadonlyArray<ServiceDefinition>
    readonly find: (service: JobUrls.ServicePath) => ServiceDefinition | undefined
  }
>()("@geojobs/engine/ServiceRegistry") {
  /**
   * A registry of the given services.
   *
   * @category layers
   */
  static readonly layer = (services: ReadonlyArray<ServiceDefinition>): Layer.Layer<ServiceRegistry> =>
    Layer.succeed(ServiceRegistry, make(services))

  /**
   * The services published by a services file (see `@geojobs/tools` ServicesFile); start-up fails with the file's
   * error when it is wrong.
   *
   * @category layers
   */
  static readonly layerFile = (file: string): Layer.Layer<ServiceRegistry, ServicesFile.ServicesFileError> =>
    Layer.effect(
      ServiceRegistry,
      Effect.map(ServicesFile.load(file), (published) => make(published.map(fromPublished)))
    )
}

/**
 * A service of a services file, as the engine runs it.
 *
 * @category constructors
 */
export const fromPublished = (published: ServicesFile.PublishedService): ServiceDefinition => ({
  ref: published.ref,
  description: published.description,
  executionType: published.executionType,
  maxConcurrentJobs: published.maxConcurrentJobs,
  ...(published.maxAttempts === undefined ? {} : { maxAttempts: published.maxAttempts }),
  ...(published.workerLimits === undefined ? {} : { workerLimits: published.workerLimits }),
  ...(published.uploads === undefined
    ? {}
    : {
        uploads: {
          maxBytes: published.uploads.maxUploadFileSize * 1024 * 1024,
          retentionMs: Math.round(published.uploads.retention * 1000)
        }
      }),
  maxExecutionTimeMs: Math.round(published.maxExecutionTime * 1000),
  jobRetentionMs: Math.round(published.jobRetention * 1000),
  access: published.access,
  tasks: new Map(
    published.tasks.map((t) => [
      t.name,
      {
        name: t.name,
        moduleUrl: t.moduleUrl,
        exportName: t.exportName,
        retryable: t.retryable,
        execution: t.tool.execution ?? "cpu",
        tool: t.tool,
        decodeInputs: (raw: Readonly<Record<string, unknown>>) => InputDecoder.decodeInputs(t.tool, raw)
      }
    ])
  )
})

/**
 * A registry over a list of services.
 *
 * @category constructors
 */
export const make = (services: ReadonlyArray<ServiceDefinition>): ServiceRegistry["Service"] => {
  const byPath = new Map(services.map((s) => [ServiceRef.path(s.ref), s]))
  return { services, find: (service) => byPath.get(ServiceRef.path(service)) }
}

/**
 * The lifecycle settings of a job's service and task. A job whose service or task is no longer published is kept
 * {@link JobLifecycle.fallbackRetentionMs}, and is not retried.
 *
 * @category combinators
 */
export const settingsOf = (
  registry: ServiceRegistry["Service"],
  job: Pick<Job.Job, "service" | "task">
): JobLifecycle.Settings => {
  const service = registry.find(job.service)
  return {
    retentionMs: service?.jobRetentionMs ?? JobLifecycle.fallbackRetentionMs,
    maxExecutionTimeMs: service?.maxExecutionTimeMs ?? defaults.maxExecutionTimeMs,
    retryable: service?.tasks.get(job.task)?.retryable ?? false,
    maxAttempts: Math.max(1, service?.maxAttempts ?? defaultMaxAttempts)
  }
}
