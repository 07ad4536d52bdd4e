/**
 * The services file: the YAML (or JSON) file in which an administrator publishes geoprocessing services — folder,
 * name, description, execution type, limits (`maxConcurrentJobs`, `maxExecutionTime` and `jobRetention` in seconds,
 * ArcGIS's max instances, max usage time and jobs-directory cleanup), the memory of its tool worker threads
 * (`workerLimits`, in MB, like ArcGIS's per-service heap size), ArcGIS's Uploads capability (`uploads`: the largest
 * file in MB and how long items are kept), who may use each service, and its tasks (a built-in
 * tool, or a tool module of the administrator's own). A file that is wrong stops start-up with one message
 * naming the file, the key and the fix.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import { dirname, extname } from "node:path"
import { fileURLToPath } from "node:url"
import { ServiceRef } from "@geojobs/core"
import { Data, Effect } from "effect"
import { parse as parseYaml } from "yaml"
import { z } from "zod"
import * as Builtin from "./builtin/index.ts"
import type { Tool } from "./Tool.ts"
import { loadTool, moduleUrl } from "./ToolModule.ts"

/**
 * What is wrong with a services file, and how to fix it.
 *
 * @category errors
 */
export class ServicesFileError extends Data.TaggedError("ServicesFileError")<{
  readonly file: string
  readonly key: string
  readonly problem: string
  readonly fix: string
}> {
  override get message(): string {
    return `${this.file}: ${this.key === "" ? "" : `${this.key}: `}${this.problem}. ${this.fix}`
  }
}

const name = (what: string) =>
  z.string().superRefine((s, ctx) => {
    const problem = ServiceRef.nameProblem(s)
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: `this ${what} name is not valid: ${problem}` })
  })

const task = z
  .strictObject({
    name: name("task").optional(),
    tool: z.string().optional(),
    module: z.string().min(1).optional(),
    export: z.string().min(1).optional(),
    retryable: z.boolean().default(false)
  })
  .superRefine((t, ctx) => {
    if ((t.tool === undefined) === (t.module === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "a task names either a built-in `tool` or a `module`, not both or neither"
      })
    } else if (t.tool !== undefined && !Builtin.isBuiltin(t.tool)) {
      ctx.addIssue({ code: "custom", path: ["tool"], message: `there is no built-in tool ${t.tool}` })
    }
  })

/** At most 1 TB: a value in bytes rather than MB is refused, not taken as a limit no thread reaches. */
const maxMegabytes = 1_048_576

const megabytes = z
  .int({ message: "expected a whole number of MB" })
  .min(1, "expected a whole number of MB, at least 1")
  .max(maxMegabytes, `expected MB, at most ${maxMegabytes} (1 TB); is it a number of bytes?`)
  .optional()

const workerLimits = z
  .strictObject({
    maxOldGenerationSizeMb: megabytes,
    maxYoungGenerationSizeMb: megabytes,
    stackSizeMb: megabytes,
    retireAboveHeapMb: megabytes
  })
  .superRefine((w, ctx) => {
    if (
      w.maxOldGenerationSizeMb !== undefined &&
      w.retireAboveHeapMb !== undefined &&
      w.retireAboveHeapMb > w.maxOldGenerationSizeMb
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["retireAboveHeapMb"],
        message: `${w.retireAboveHeapMb} MB is above maxOldGenerationSizeMb (${w.maxOldGenerationSizeMb} MB), so no thread would ever be retired`
      })
    }
  })

/** ArcGIS's uploads: `true` for the defaults, or the largest file (MB) and how long items are kept (seconds). */
const uploads = z
  .union([
    z.literal(true),
    z.strictObject({
      maxUploadFileSize: z
        .int({ message: "expected a whole number of MB" })
        .min(1, "expected a whole number of MB, at least 1")
        .max(maxMegabytes, `expected MB, at most ${maxMegabytes} (1 TB); is it a number of bytes?`)
        .default(100),
      retention: z.number().positive().default(86_400)
    })
  ])
  .transform((u) => (u === true ? { maxUploadFileSize: 100, retention: 86_400 } : u))

const service = z.strictObject({
  folder: name("folder").optional(),
  name: name("service").refine((s) => s.toLowerCase() !== "gpserver", "GPServer is reserved"),
  serviceId: z
    .string()
    .regex(/^[a-z0-9]{21}$/, "a service_id is 21 lowercase letters or digits")
    .optional(),
  description: z.string().default(""),
  executionType: z.enum(["async", "sync"]).default("async"),
  maxConcurrentJobs: z.int().min(1).max(1000).default(2),
  maxExecutionTime: z.number().positive().default(600),
  jobRetention: z.number().nonnegative().default(21_600),
  maxAttempts: z.int().min(1).max(100).optional(),
  workerLimits: workerLimits.optional(),
  uploads: uploads.optional(),
  access: z
    .union([z.literal("public"), z.strictObject({ roles: z.array(z.string().min(1)).min(1) })])
    .default("public"),
  tasks: z.array(task).min(1, "a service publishes at least one task")
})

/**
 * The zod schema of a services file.
 *
 * @category models
 */
export const schema = z.strictObject({ services: z.array(service) })

/**
 * A published task, its tool loaded.
 *
 * @category models
 */
export interface PublishedTask {
  readonly name: string
  readonly tool: Tool
  readonly moduleUrl: string
  readonly exportName: string
  readonly retryable: boolean
}

/**
 * The memory of a service's tool worker threads, in MB, over the engine's (the fields of the engine's
 * `WorkerLimits.Settings`; absent ones come from the engine).
 *
 * @category models
 */
export interface WorkerLimits {
  /** V8's old generation (most of the JS heap); a tool going past it fails its job. */
  readonly maxOldGenerationSizeMb?: number
  /** V8's young generation; V8 sizes it from the old generation when absent. */
  readonly maxYoungGenerationSizeMb?: number
  /** The thread's stack (Node's default 4). */
  readonly stackSizeMb?: number
  /** A thread whose used heap is above this after a job is replaced (default half the old generation). */
  readonly retireAboveHeapMb?: number
}

/**
 * A published service. Durations are seconds, as in the file.
 *
 * @category models
 */
export interface PublishedService {
  readonly ref: ServiceRef.ServiceRef
  readonly description: string
  readonly executionType: "async" | "sync"
  readonly maxConcurrentJobs: number
  readonly maxExecutionTime: number
  readonly jobRetention: number
  /**
   * How many runs a job of a retryable task gets in all when runs are interrupted (a node stopped responding, a
   * shutdown), when the file sets it; the engine's default otherwise.
   */
  readonly maxAttempts?: number | undefined
  /** The service's worker thread limits, when the file sets any. */
  readonly workerLimits?: WorkerLimits | undefined
  /**
   * The Uploads capability, when the file turns it on: the largest file in MB (default 100) and how long an uploaded
   * item is kept, in seconds (default 86400, a day).
   */
  readonly uploads?: { readonly maxUploadFileSize: number; readonly retention: number } | undefined
  /** `public`, or the roles that may use the service. */
  readonly access: "public" | { readonly roles: ReadonlyArray<string> }
  readonly tasks: ReadonlyArray<PublishedTask>
}

const fixes: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /\.tool$/,
    `Use one of the built-in tools: ${Builtin.names.join(", ")}; or give \`module\` with the path of your own tool module.`
  ],
  [/\.module$/, "Give the path of a module (relative to the services file) whose export is made with defineTool."],
  [/\.executionType$/, "Use async or sync."],
  [/\.access$/, 'Use "public" or { roles: [<role>, …] }.'],
  [/\.(maxConcurrentJobs|maxExecutionTime|jobRetention)$/, "Give a positive number (seconds for the times)."],
  [/\.maxAttempts$/, "Give a whole number of runs from 1 to 100 (retryable tasks only; default 3)."],
  [
    /\.workerLimits(\.\w+)?$/,
    "workerLimits takes maxOldGenerationSizeMb, maxYoungGenerationSizeMb, stackSizeMb and retireAboveHeapMb, each a whole number of MB (retireAboveHeapMb at most maxOldGenerationSizeMb)."
  ],
  [
    /\.uploads(\.\w+)?$/,
    "uploads is true, or { maxUploadFileSize: <MB>, retention: <seconds> } (each optional: 100 MB, 86400 s)."
  ],
  [/\.(name|folder)$/, "Use a name without slashes, control characters or surrounding spaces, at most 120 characters."],
  [/^services$/, "The file holds `services:`, a list of services."]
]

/** The limits the file sets, without keys for the ones it leaves to the engine. */
const definedOnly = (limits: Readonly<Partial<Record<keyof WorkerLimits, number | undefined>>>): WorkerLimits =>
  Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined))

const keyOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("")

const fail = (file: string, key: string, problem: string, fix?: string) =>
  Effect.fail(
    new ServicesFileError({
      file,
      key,
      problem,
      fix:
        fix ??
        fixes.find(([pattern]) => pattern.test(key))?.[1] ??
        "See the sample services file (services.sample.yaml)."
    })
  )

/**
 * Reads, checks and resolves a services file: names and limits checked, paths of services unique, each task's tool
 * loaded (built-in by name; a module relative to the file's folder).
 *
 * @category constructors
 */
export const load = (file: string): Effect.Effect<ReadonlyArray<PublishedService>, ServicesFileError> =>
  Effect.gen(function* () {
    let text: string
    try {
      text = readFileSync(file, "utf8")
    } catch (cause) {
      return yield* fail(
        file,
        "",
        `cannot be read (${(cause as Error).message})`,
        "Check the path in GEOJOBS_SERVICES."
      )
    }
    let data: unknown
    try {
      data = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text)
    } catch (cause) {
      return yield* fail(
        file,
        "",
        `is not valid ${extname(file) === ".json" ? "JSON" : "YAML"}: ${(cause as Error).message}`,
        "Fix the syntax."
      )
    }
    const parsed = schema.safeParse(data)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return yield* fail(file, keyOf(issue?.path ?? []), issue?.message ?? "is not valid")
    }
    const seen = new Set<string>()
    const published: Array<PublishedService> = []
    for (const [i, s] of parsed.data.services.entries()) {
      const ref = yield* ServiceRef.make({ folder: s.folder, name: s.name, serviceId: s.serviceId }).pipe(
        Effect.catchTag("InvalidReference", (e) => fail(file, `services[${i}].${e.part}`, e.message))
      )
      const path = ServiceRef.path(ref)
      if (seen.has(path))
        return yield* fail(
          file,
          `services[${i}]`,
          `service ${path} is published twice`,
          "Give each service its own folder/name."
        )
      seen.add(path)
      const tasks: Array<PublishedTask> = []
      for (const [j, t] of s.tasks.entries()) {
        const key = `services[${i}].tasks[${j}]`
        const url =
          t.tool !== undefined
            ? Builtin.modules[t.tool as Builtin.BuiltinName]
            : moduleUrl(t.module ?? "", dirname(file))
        const exportName = t.export ?? "default"
        const tool = yield* loadTool(url, exportName).pipe(
          Effect.catchTag("ToolLoadError", (e) =>
            fail(
              file,
              `${key}.${t.tool !== undefined ? "tool" : "module"}`,
              e.message,
              "Point at a module whose export is made with defineTool."
            )
          )
        )
        const taskName = t.name ?? tool.name
        if (ServiceRef.nameProblem(taskName) !== undefined) {
          return yield* fail(file, `${key}.name`, `the task name ${JSON.stringify(taskName)} is not valid`)
        }
        if (tasks.some((other) => other.name === taskName)) {
          return yield* fail(
            file,
            `${key}.name`,
            `task ${taskName} is published twice in ${path}`,
            "Give the task a `name` of its own."
          )
        }
        tasks.push({ name: taskName, tool, moduleUrl: url, exportName, retryable: t.retryable })
      }
      published.push({
        ref,
        description: s.description,
        executionType: s.executionType,
        maxConcurrentJobs: s.maxConcurrentJobs,
        maxExecutionTime: s.maxExecutionTime,
        jobRetention: s.jobRetention,
        ...(s.maxAttempts === undefined ? {} : { maxAttempts: s.maxAttempts }),
        ...(s.workerLimits === undefined ? {} : { workerLimits: definedOnly(s.workerLimits) }),
        ...(s.uploads === undefined ? {} : { uploads: s.uploads }),
        access: s.access,
        tasks
      })
    }
    return published
  })

/**
 * The sample services file shipped with the package: `System/Utilities` (Echo, Sleep) and `Analysis/Geometry` (the
 * geometry tools).
 *
 * @category models
 */
export const samplePath = fileURLToPath(new URL("../services.sample.yaml", import.meta.url))
