/**
 * Builds a real engine for tests: a SQLite file in a temporary folder, real worker threads, and test services whose
 * tasks are the tools in `TestTools.ts`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Entropy, type Job, ServiceRef } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Effect, Layer } from "effect"
import { Engine, type EngineOptions } from "../../src/Engine.ts"
import { type ServiceDefinition, ServiceRegistry, type TaskDefinition } from "../../src/ServiceRegistry.ts"

export const toolsUrl = new URL("./TestTools.ts", import.meta.url).href

const passThrough = (raw: Readonly<Record<string, unknown>>) =>
  Effect.succeed(
    Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, { dataType: "GPString", value: v } satisfies Job.JobValue])
    )
  )

export const task = (exportName: string, retryable = false, execution?: "cpu" | "io"): TaskDefinition => ({
  name: exportName,
  moduleUrl: toolsUrl,
  exportName,
  retryable,
  ...(execution === undefined ? {} : { execution }),
  decodeInputs: passThrough
})

export const service = (
  name: string,
  settings: Partial<Omit<ServiceDefinition, "ref" | "tasks">> = {},
  tasks: ReadonlyArray<TaskDefinition> = ["echo", "nap", "stubborn", "broken", "chatty", "writer"].map((t) => task(t))
): ServiceDefinition => ({
  ref: { folder: "Test", name, type: "GPServer", serviceId: ServiceRef.deriveServiceId("Test", name) },
  description: name,
  executionType: "async",
  maxConcurrentJobs: 4,
  maxExecutionTimeMs: 60_000,
  jobRetentionMs: 3_600_000,
  access: "public",
  ...settings,
  tasks: new Map(tasks.map((t) => [t.name, t]))
})

export const tempDir = () => mkdtempSync(join(tmpdir(), "geojobs-engine-"))

/** Engine + store layers on `dataDir/jobs.sqlite`. */
export const engineLayer = (
  dataDir: string,
  services: ReadonlyArray<ServiceDefinition>,
  options: Partial<EngineOptions> = {}
) => {
  const storage = SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") })
  const deps = Layer.mergeAll(storage, ServiceRegistry.layer(services), Entropy.Entropy.layer)
  return Engine.layer({ dataDir, maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, ...options }).pipe(
    Layer.provideMerge(deps)
  )
}
