/**
 * The OGC API – Processes 1.0 process documents and the execute request: the process summary and list, the process
 * description with its inputs and outputs (each with an OpenAPI 3.0 `schema`), the execute request body (`inputs`,
 * `outputs` with `transmissionMode`, `response` raw or document, `subscriber`) and the results document. Servers
 * render and check with these schemas, clients validate with them, and the server's OpenAPI document is generated
 * from them.
 *
 * @module
 */
import { z } from "zod"
import * as Callback from "./Callback.ts"
import * as OgcLink from "./OgcLink.ts"

/**
 * How a process may be executed (`jobControlOptions.yaml`).
 *
 * @category models
 */
export const jobControlOptionSchema = z.enum(["sync-execute", "async-execute", "dismiss"])

/** @category models */
export type JobControlOption = z.output<typeof jobControlOptionSchema>

/**
 * How an output is sent (`transmissionMode.yaml`): in the document, or as a link to it.
 *
 * @category models
 */
export const transmissionModeSchema = z.enum(["value", "reference"])

/** @category models */
export type TransmissionMode = z.output<typeof transmissionModeSchema>

const metadata = z.object({ title: z.string().optional(), role: z.string().optional(), href: z.string().optional() })

const description = {
  title: z.string().optional(),
  description: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  metadata: z.array(metadata).optional()
}

/**
 * zod schema of a process summary (`processSummary.yaml`).
 *
 * @category models
 */
export const summarySchema = z.object({
  id: z.string(),
  version: z.string(),
  ...description,
  jobControlOptions: z.array(jobControlOptionSchema).optional(),
  outputTransmission: z.array(transmissionModeSchema).optional(),
  links: z.array(OgcLink.schema).optional()
})

/** A process summary. @category models */
export type Summary = z.output<typeof summarySchema>

/**
 * zod schema of the JSON schema of an input or output value: an OpenAPI 3.0 schema object.
 *
 * @category models
 */
export const valueSchemaSchema = z.record(z.string(), z.unknown())

/**
 * zod schema of an input description (`inputDescription.yaml`).
 *
 * @category models
 */
export const inputDescriptionSchema = z.object({
  ...description,
  minOccurs: z.number().int().optional(),
  maxOccurs: z.union([z.number().int(), z.literal("unbounded")]).optional(),
  schema: valueSchemaSchema
})

/** @category models */
export type InputDescription = z.output<typeof inputDescriptionSchema>

/**
 * zod schema of an output description (`outputDescription.yaml`).
 *
 * @category models
 */
export const outputDescriptionSchema = z.object({ ...description, schema: valueSchemaSchema })

/** @category models */
export type OutputDescription = z.output<typeof outputDescriptionSchema>

/**
 * zod schema of a process description (`process.yaml`).
 *
 * @category models
 */
export const descriptionSchema = summarySchema.extend({
  inputs: z.record(z.string(), inputDescriptionSchema),
  outputs: z.record(z.string(), outputDescriptionSchema)
})

/** A process description. @category models */
export type Description = z.output<typeof descriptionSchema>

/**
 * zod schema of the process list (`processList.yaml`).
 *
 * @category models
 */
export const listSchema = z.object({ processes: z.array(summarySchema), links: z.array(OgcLink.schema) })

/** The process list. @category models */
export type List = z.output<typeof listSchema>

/**
 * zod schema of a format (`format.yaml`).
 *
 * @category models
 */
export const formatSchema = z.object({
  mediaType: z.string().optional(),
  encoding: z.string().optional(),
  schema: z.union([z.string(), z.record(z.string(), z.unknown())]).optional()
})

/**
 * zod schema of an output asked for in an execute request (`output.yaml`).
 *
 * @category models
 */
export const outputSchema = z.object({
  format: formatSchema.optional(),
  transmissionMode: transmissionModeSchema.optional()
})

/** An output asked for. @category models */
export type Output = z.output<typeof outputSchema>

/** A callback URI: absolute http(s), no credentials (`Callback.uriProblem`). */
const callbackUri = z.url({ message: "expected an absolute http or https URL" }).superRefine((text, ctx) => {
  const problem = Callback.uriProblem(text)
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem })
})

/**
 * zod schema of the callback URIs of an execute request (`subscriber.yaml`).
 *
 * @category models
 */
export const subscriberSchema = z.object({
  successUri: callbackUri.optional(),
  inProgressUri: callbackUri.optional(),
  failedUri: callbackUri.optional()
})

/**
 * zod schema of the execute request (`execute.yaml`). Each input is a value (string, number, boolean, array, a
 * GeoJSON or Esri JSON object), a qualified value `{"value": …, "mediaType": …}`, or a link (`{"href": …}`).
 *
 * @category models
 */
export const executeSchema = z.looseObject({
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), outputSchema).optional(),
  response: z.enum(["raw", "document"]).optional(),
  subscriber: subscriberSchema.optional()
})

/** An execute request. @category models */
export type Execute = z.output<typeof executeSchema>

/**
 * zod schema of a qualified value (`qualifiedInputValue.yaml`): a value with its media type, encoding or schema.
 *
 * @category models
 */
export const qualifiedValueSchema = formatSchema.extend({ value: z.unknown() })

/** A qualified value. @category models */
export type QualifiedValue = z.output<typeof qualifiedValueSchema>

/**
 * zod schema of the results document (`results.yaml`): each output by name, a value, a qualified value or a link.
 *
 * @category models
 */
export const resultsSchema = z.record(z.string(), z.unknown())

/** The results document. @category models */
export type Results = z.output<typeof resultsSchema>

/**
 * Whether an execute request's input is a qualified value: an object with `value` and nothing else but
 * `mediaType`, `encoding` or `schema`.
 *
 * @category guards
 */
export const isQualifiedValue = (u: unknown): u is QualifiedValue =>
  typeof u === "object" &&
  u !== null &&
  !Array.isArray(u) &&
  Object.hasOwn(u, "value") &&
  Object.keys(u).every((k) => k === "value" || k === "mediaType" || k === "encoding" || k === "schema")

/**
 * Whether an execute request's input is a link to the value (`{"href": …}`, with `rel`, `type`… at most).
 *
 * @category guards
 */
export const isLink = (u: unknown): boolean =>
  typeof u === "object" &&
  u !== null &&
  !Array.isArray(u) &&
  typeof (u as { href?: unknown }).href === "string" &&
  Object.keys(u).every((k) => k === "href" || k === "rel" || k === "type" || k === "hreflang" || k === "title")
