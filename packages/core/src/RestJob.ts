/**
 * The GP REST job document — what `…/GPServer/<task>/jobs/<id>` (and `submitJob`, and the service-level alias)
 * answers — the parameter value document of `…/results/<param>` and `…/inputs/<param>`, `execute`'s answer and the
 * cancel operation's answer. Rendering follows what
 * real clients read (arcgis-api.md §5.6, §7): `results` is always present on a Succeeded job (maybe empty),
 * `progress` only while Executing, and pollers never see New (it reads as Submitted).
 *
 * @module
 */
import { z } from "zod"
import type { JobSummary, JobValue, MessageLevel } from "./Job.ts"
import * as JobId from "./JobId.ts"
import * as JobStatus from "./JobStatus.ts"

/**
 * Every `esriJobMessageType*` a client may meet; GeoJobs itself emits the first three.
 *
 * @category models
 */
export const messageTypes = [
  "esriJobMessageTypeInformative",
  "esriJobMessageTypeWarning",
  "esriJobMessageTypeError",
  "esriJobMessageTypeEmpty",
  "esriJobMessageTypeAbort",
  "esriJobMessageTypeProcessDefinition",
  "esriJobMessageTypeProcessStart",
  "esriJobMessageTypeProcessStop"
] as const

const levelTypes: { readonly [L in MessageLevel]: (typeof messageTypes)[number] } = {
  informative: "esriJobMessageTypeInformative",
  warning: "esriJobMessageTypeWarning",
  error: "esriJobMessageTypeError"
}

/**
 * The level of a REST message type (`esriJobMessageTypeError` → `error`); `undefined` for the types that carry no
 * level (empty, abort, process start/stop…).
 *
 * @category accessors
 */
export const messageLevel = (type: string): MessageLevel | undefined =>
  (Object.keys(levelTypes) as Array<MessageLevel>).find((level) => levelTypes[level] === type)

const paramUrls = z.record(z.string(), z.object({ paramUrl: z.string() }))

/**
 * zod schema of the REST job document (loose enough for what ArcGIS servers send, so clients can use it too).
 *
 * @category models
 */
export const schema = z.object({
  jobId: JobId.schema,
  jobStatus: JobStatus.restNameSchema,
  progress: z
    .object({
      type: z.enum(["default", "step"]),
      message: z.string().optional(),
      percent: z.number().int().min(0).max(100).optional()
    })
    .optional(),
  results: paramUrls.optional(),
  inputs: paramUrls.optional(),
  messages: z.array(z.object({ type: z.enum(messageTypes), description: z.string() })).optional()
})

/**
 * The REST job document.
 *
 * @category models
 */
export type RestJob = z.output<typeof schema>

/**
 * zod schema of one parameter value (`results/<param>`, `inputs/<param>`, and the items of `execute`'s `results`).
 *
 * @category models
 */
export const parameterValueSchema = z.object({ paramName: z.string(), dataType: z.string(), value: z.unknown() })

/**
 * A parameter value document.
 *
 * @category models
 */
export type ParameterValue = z.output<typeof parameterValueSchema>

/**
 * zod schema of `execute`'s answer (a synchronous task): every result and the job's messages.
 *
 * @category models
 */
export const executeSchema = z.looseObject({
  results: z.array(parameterValueSchema),
  messages: z.array(z.looseObject({ type: z.string(), description: z.string() })).default([])
})

/**
 * `execute`'s answer.
 *
 * @category models
 */
export type ExecuteAnswer = z.output<typeof executeSchema>

/**
 * zod schema of the cancel operation's answer (`…/jobs/<id>/cancel`): the job and the status it is in now.
 *
 * @category models
 */
export const cancelSchema = z.looseObject({ jobId: z.string(), jobStatus: z.string() })

/**
 * The cancel operation's answer.
 *
 * @category models
 */
export type CancelAnswer = z.output<typeof cancelSchema>

const links = (kind: "results" | "inputs", names: ReadonlyArray<string>) =>
  Object.fromEntries(names.map((name) => [name, { paramUrl: `${kind}/${encodeURIComponent(name)}` }]))

/**
 * Renders a job for REST pollers. `returnMessages: false` leaves the messages out, as the API's parameter asks.
 *
 * @category constructors
 */
export const fromJob = (job: JobSummary, options: { readonly returnMessages?: boolean | undefined } = {}): RestJob => {
  const shown = JobStatus.pollerView(job.status) ?? job.status
  const doc: RestJob = { jobId: job.id, jobStatus: JobStatus.restName(shown) }
  if (shown === "Executing") doc.progress = job.progress ?? { type: "default", message: "Executing..." }
  if (JobStatus.hasResults(shown)) doc.results = links("results", job.resultNames)
  doc.inputs = links("inputs", job.inputNames)
  if (options.returnMessages !== false) {
    doc.messages = job.messages.map((m) => ({ type: levelTypes[m.level], description: m.description }))
  }
  return doc
}

/**
 * Renders one input or result.
 *
 * @category constructors
 */
export const parameterValue = (paramName: string, value: JobValue): ParameterValue => ({
  paramName,
  dataType: value.dataType,
  value: value.value
})
