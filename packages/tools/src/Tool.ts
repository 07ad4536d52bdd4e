/**
 * Defining geoprocessing tools. A tool is a plain module export made with `defineTool`: its name, its parameters in
 * the GP data types (direction, required or optional, default, choice list, range), and an ordinary (async) `execute`
 * function that gets decoded input values and a `ToolContext`, and answers its outputs by parameter name. Tools run in
 * worker threads; a tool signals failure by throwing, which fails its job with the error's message.
 *
 * @module
 */
import type { Job } from "@geojobs/core"

/**
 * The GP data types GeoJobs decodes (arcgis-api.md §5.3), and multi-values of them.
 *
 * @category models
 */
export const scalarTypes = [
  "GPString",
  "GPLong",
  "GPDouble",
  "GPBoolean",
  "GPDate",
  "GPLinearUnit",
  "GPFeatureRecordSetLayer",
  "GPRecordSet",
  "GPDataFile"
] as const

/** @category models */
export type ScalarType = (typeof scalarTypes)[number]

/** @category models */
export type DataType = ScalarType | `GPMultiValue:${ScalarType}`

/**
 * One parameter of a tool.
 *
 * @category models
 */
export interface Parameter {
  readonly name: string
  readonly dataType: DataType
  readonly displayName?: string | undefined
  readonly description?: string | undefined
  /** Default `input`. */
  readonly direction?: "input" | "output" | undefined
  /** Inputs are required unless `required: false` or a default is given; outputs are derived. */
  readonly required?: boolean | undefined
  /** Used when the client sends nothing (or `""`). */
  readonly defaultValue?: unknown
  /** The only values a GPString (or each member of a GPMultiValue:GPString) may take. */
  readonly choiceList?: ReadonlyArray<string> | undefined
  /** Bounds for GPLong and GPDouble, inclusive. */
  readonly range?: { readonly minimum?: number | undefined; readonly maximum?: number | undefined } | undefined
  /** For feature sets: the geometry types accepted (`esriGeometryPoint`, `esriGeometryPolyline`, `esriGeometryPolygon`, …). */
  readonly geometryTypes?: ReadonlyArray<string> | undefined
  readonly category?: string | undefined
}

/**
 * What a running tool can use: its job's id, an AbortSignal that fires when the job is cancelled, progress and
 * message reporting (persisted and shown to clients, throttled by the engine), and a folder for output files.
 *
 * @category models
 */
export interface ToolContext {
  readonly jobId: string
  readonly signal: AbortSignal
  /** A percentage (0–100) makes step progress; `undefined` a message-only update. */
  readonly progress: (percent: number | undefined, message?: string) => void
  readonly message: (level: Job.MessageLevel, text: string) => void
  /** The job's own folder; created on first use. Files written here are served as the job's output files. */
  readonly outputDir: string
}

/** Decoded inputs, by parameter name. @category models */
export type ToolInputs = Readonly<Record<string, unknown>>
/** Outputs, by output parameter name. @category models */
export type ToolOutputs = Readonly<Record<string, unknown>>

/**
 * A tool as written by its author.
 *
 * @category models
 */
export interface ToolDefinition {
  readonly name: string
  readonly displayName?: string | undefined
  readonly description?: string | undefined
  readonly category?: string | undefined
  readonly helpUrl?: string | undefined
  /**
   * How the tool uses its thread: `cpu` (the default) computes — one job per worker thread, so it never slows another;
   * `io` mostly waits (on the network, a timer, a child process) — many of its jobs share a thread, up to the node's
   * slots. A tool that computes for long must not say `io`: the jobs sharing its thread would wait for it.
   */
  readonly execution?: "cpu" | "io" | undefined
  readonly parameters: ReadonlyArray<Parameter>
  readonly execute: (inputs: ToolInputs, context: ToolContext) => ToolOutputs | Promise<ToolOutputs>
}

/**
 * A tool: its definition, marked so that `loadTool` can recognise it in any module.
 *
 * @category models
 */
export interface Tool extends ToolDefinition {
  readonly _tag: "GeoJobsTool"
}

/**
 * Makes a tool.
 *
 * ```ts
 * export default defineTool({
 *   name: "Echo",
 *   parameters: [
 *     { name: "input_string", dataType: "GPString" },
 *     { name: "output_string", dataType: "GPString", direction: "output" }
 *   ],
 *   execute: ({ input_string }) => ({ output_string: input_string })
 * })
 * ```
 *
 * @category constructors
 */
export const defineTool = (definition: ToolDefinition): Tool => ({ ...definition, _tag: "GeoJobsTool" })

/** @category guards */
export const isTool = (u: unknown): u is Tool =>
  typeof u === "object" &&
  u !== null &&
  (u as { _tag?: unknown })._tag === "GeoJobsTool" &&
  typeof (u as { execute?: unknown }).execute === "function" &&
  Array.isArray((u as { parameters?: unknown }).parameters)

/** The tool's input parameters. @category combinators */
export const inputs = (tool: ToolDefinition): ReadonlyArray<Parameter> =>
  tool.parameters.filter((p) => (p.direction ?? "input") === "input")

/** The tool's output parameters. @category combinators */
export const outputs = (tool: ToolDefinition): ReadonlyArray<Parameter> =>
  tool.parameters.filter((p) => p.direction === "output")
