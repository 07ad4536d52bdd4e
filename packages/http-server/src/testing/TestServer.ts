/**
 * A real GeoJobs server for tests — ours and those of people writing tools or clients: the services file you give, the
 * storage you choose (e.g. `@geojobs/store-sqlite` on the fresh temporary folder it is given), real worker threads,
 * an `admin` and any users you name, and (unless `listen: false`) a real port on 127.0.0.1. Nothing is faked.
 *
 * @module
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { JobQueue, JobStore, SecurityStore } from "@geojobs/core"
import { type Engine, LocalUploads } from "@geojobs/engine"
import { Effect, Layer, ManagedRuntime } from "effect"
import type { FastifyInstance } from "fastify"
import { Accounts } from "../Accounts.ts"
import * as Server from "../Server.ts"

/**
 * The services `start` publishes unless told otherwise: `System/Utilities` (Echo, Sleep), the synchronous
 * `System/SyncTools` (Echo) and `Analysis/Geometry` (Buffer). Append entries of your own to it.
 */
export const defaultServices = `services:
  - folder: System
    name: Utilities
    tasks: [{tool: Echo}, {tool: Sleep}]
  - folder: System
    name: SyncTools
    executionType: sync
    tasks: [{tool: Echo}]
  - folder: Analysis
    name: Geometry
    tasks: [{tool: Buffer}]
`

/** @category models */
export interface Options {
  /** The storage, on the server's fresh data folder. */
  readonly storage: (
    dataDir: string
  ) => Layer.Layer<JobStore.JobStore | JobQueue.JobQueue | SecurityStore.SecurityStore, unknown>
  /** The services file's YAML text (default `defaultServices`). */
  readonly services?: string | undefined
  /** The password of `admin` and of every user in `users`. */
  readonly password: string
  /** More users, each with a built-in or custom role (`publisher`, `user`, `viewer`, …). */
  readonly users?: ReadonlyArray<{ readonly username: string; readonly role: string }> | undefined
  /** Engine settings; the default polls and reports progress quickly, with two workers. */
  readonly engine?: Omit<Engine.EngineOptions, "dataDir"> | undefined
  /** Listen on a port (default true); false for `app.inject` only. */
  readonly listen?: boolean | undefined
  readonly realStatusCodes?: boolean | undefined
  readonly tokenRequestsPerMinute?: number | undefined
  readonly bodyLimitBytes?: number | undefined
  /** Log JSON lines (level info) to this stream; without it the server logs nothing. */
  readonly logStream?: NodeJS.WritableStream | undefined
  /**
   * The data folder of a server that ran before (a restart: its jobs, users and outbox are there); default a fresh
   * temporary one.
   */
  readonly dataDir?: string | undefined
}

/** @category models */
export interface TestServer {
  readonly app: FastifyInstance
  /** `http://127.0.0.1:<port>/arcgis` when listening, else "". */
  readonly url: string
  readonly dataDir: string
  readonly close: () => Promise<void>
}

/**
 * Starts the server.
 *
 * @category constructors
 */
export const start = async (options: Options): Promise<TestServer> => {
  const restarted = options.dataDir !== undefined
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "geojobs-test-"))
  const servicesFile = join(dataDir, "services.yaml")
  writeFileSync(servicesFile, options.services ?? defaultServices)
  const runtime = ManagedRuntime.make(
    Server.servicesLayer({
      servicesFile,
      engine: {
        dataDir,
        ...(options.engine ?? { maxWorkers: 2, progressIntervalMs: 100, pollIntervalMs: 50, shutdownGraceMs: 500 })
      }
    }).pipe(
      // Uploaded items in the data folder, as apps/server keeps them by default (a service takes them only with its
      // `uploads` setting).
      Layer.provideMerge(Layer.mergeAll(options.storage(dataDir), LocalUploads.layer(join(dataDir, "uploads"))))
    )
  )
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Accounts
      yield* store.bootstrapAdmin(options.password)
      // A restarted server has its users already.
      for (const user of restarted ? [] : (options.users ?? [])) {
        yield* store.createUser({ username: user.username, password: options.password, role: user.role })
      }
    })
  )
  const app = await Server.make({
    runtime,
    ...(options.logStream === undefined ? { logLevel: "silent" } : { logLevel: "info", logStream: options.logStream }),
    realStatusCodes: options.realStatusCodes,
    tokenRequestsPerMinute: options.tokenRequestsPerMinute,
    bodyLimitBytes: options.bodyLimitBytes
  })
  let url = ""
  if (options.listen === false) await app.ready()
  else {
    await app.listen({ port: 0, host: "127.0.0.1" })
    const address = app.server.address()
    url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/arcgis`
  }
  return {
    app,
    url,
    dataDir,
    close: async () => {
      await app.close()
      await runtime.dispose()
    }
  }
}
