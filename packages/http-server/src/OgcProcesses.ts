/**
 * The published tasks as OGC processes: each task of each service is a process (id from core's `OgcResource`), its
 * summary and description — inputs and outputs as OpenAPI 3.0 schemas derived from the GP parameter types (one total
 * table over the types: strings with choice lists as `enum`, integers and numbers with range filters as
 * `minimum`/`maximum`, booleans, dates, GPLinearUnit as an object, GPMultiValue as an array, feature sets as GeoJSON
 * or Esri JSON), with titles, descriptions and defaults from the tool — and the job's values as OGC outputs.
 *
 * @module
 */
import { type Job, OgcLink, type OgcProcess, OgcResource, ServiceRef } from "@geojobs/core"
import type { ServiceRegistry } from "@geojobs/engine"
import { EsriGeometry, GPValue, Tool } from "@geojobs/tools"

type JsonSchema = Record<string, unknown>

/**
 * The version every process reports: GeoJobs versions services, not tasks, so this is the version of the description
 * format.
 *
 * @category models
 */
export const processVersion = "1.0.0"

const geojson: JsonSchema = {
  type: "object",
  title: "GeoJSON FeatureCollection",
  contentMediaType: OgcLink.mediaTypes.geojson,
  required: ["type", "features"],
  properties: {
    type: { type: "string", enum: ["FeatureCollection"] },
    features: { type: "array", items: { type: "object" } }
  }
}

const esriFeatureSet: JsonSchema = {
  type: "object",
  title: "Esri JSON feature set",
  contentMediaType: OgcLink.mediaTypes.json,
  required: ["features"],
  properties: {
    geometryType: { type: "string" },
    spatialReference: { type: "object" },
    fields: { type: "array", items: { type: "object" } },
    features: { type: "array", items: { type: "object" } }
  }
}

const ranged = (p: Tool.Parameter, schema: JsonSchema): JsonSchema => ({
  ...schema,
  ...(p.range?.minimum === undefined ? {} : { minimum: p.range.minimum }),
  ...(p.range?.maximum === undefined ? {} : { maximum: p.range.maximum })
})

/**
 * The schema of each GP type's values, as an input (`input`) or output. Total over the types.
 *
 * @category models
 */
export const schemas: {
  readonly [T in Tool.ScalarType]: (p: Tool.Parameter, direction: "input" | "output") => JsonSchema
} = {
  GPString: (p) => ({ type: "string", ...(p.choiceList === undefined ? {} : { enum: [...p.choiceList] }) }),
  GPLong: (p) => ranged(p, { type: "integer", minimum: -GPValue.maxLong, maximum: GPValue.maxLong }),
  GPDouble: (p) => ranged(p, { type: "number" }),
  GPBoolean: () => ({ type: "boolean" }),
  GPDate: () => ({ type: "string", format: "date-time" }),
  GPLinearUnit: (p) => ({
    type: "object",
    title: "Linear unit",
    required: ["distance"],
    properties: {
      distance: ranged(p, { type: "number" }),
      units: { type: "string", enum: [...GPValue.linearUnits], default: "esriMeters" }
    }
  }),
  GPFeatureRecordSetLayer: (_p, direction) => (direction === "input" ? { oneOf: [geojson, esriFeatureSet] } : geojson),
  GPRecordSet: () => ({
    type: "object",
    title: "Record set",
    required: ["features"],
    properties: {
      fields: { type: "array", items: { type: "object" } },
      features: { type: "array", items: { type: "object" } }
    }
  }),
  GPDataFile: (_p, direction) =>
    direction === "input"
      ? {
          type: "object",
          title: "Data file",
          properties: { url: { type: "string", format: "uri" }, itemID: { type: "string" } }
        }
      : { type: "string", format: "uri", contentMediaType: "application/octet-stream" }
}

const memberType = (dataType: Tool.DataType): Tool.ScalarType | undefined =>
  dataType.startsWith("GPMultiValue:") ? (dataType.slice("GPMultiValue:".length) as Tool.ScalarType) : undefined

/**
 * The schema of a parameter's values.
 *
 * @category constructors
 */
export const valueSchema = (p: Tool.Parameter, direction: "input" | "output"): JsonSchema => {
  const member = memberType(p.dataType)
  if (member !== undefined) return { type: "array", items: schemas[member](p, direction) }
  return schemas[p.dataType as Tool.ScalarType](p, direction)
}

const jsonable = (value: unknown): boolean =>
  value === null || ["string", "number", "boolean", "object"].includes(typeof value)

const describeInput = (p: Tool.Parameter): OgcProcess.InputDescription => {
  const schema = valueSchema(p, "input")
  return {
    title: p.displayName ?? p.name.replaceAll("_", " "),
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.category ? { keywords: [p.category] } : {}),
    minOccurs: GPValue.isRequired(p) ? 1 : 0,
    maxOccurs: 1,
    schema: p.defaultValue !== undefined && jsonable(p.defaultValue) ? { ...schema, default: p.defaultValue } : schema
  }
}

const describeOutput = (p: Tool.Parameter): OgcProcess.OutputDescription => ({
  title: p.displayName ?? p.name.replaceAll("_", " "),
  ...(p.description === undefined ? {} : { description: p.description }),
  schema: valueSchema(p, "output")
})

/**
 * How a service's processes may be executed: as the service's execution type says, and dismissed.
 *
 * @category constructors
 */
export const jobControlOptions = (
  service: ServiceRegistry.ServiceDefinition
): ReadonlyArray<OgcProcess.JobControlOption> => [
  service.executionType === "sync" ? "sync-execute" : "async-execute",
  "dismiss"
]

/** A process as the registry holds it. @category models */
export interface Published {
  readonly service: ServiceRegistry.ServiceDefinition
  readonly task: ServiceRegistry.TaskDefinition
}

/** The process reference of a published task. @category constructors */
export const refOf = (published: Published): OgcResource.ProcessRef => ({
  service: published.service.ref,
  task: published.task.name
})

/**
 * Every published process, in the services file's order.
 *
 * @category constructors
 */
export const all = (registry: ServiceRegistry.ServiceRegistry["Service"]): ReadonlyArray<Published> =>
  registry.services.flatMap((service) => [...service.tasks.values()].map((task) => ({ service, task })))

/**
 * The summary of a process; `root` is the OGC root URL.
 *
 * @category constructors
 */
export const summary = (root: string, published: Published): OgcProcess.Summary => {
  const { service, task } = published
  const tool = task.tool
  const ref = refOf(published)
  const href = OgcResource.url(root, { _tag: "Process", process: ref })
  return {
    id: OgcResource.processId(ref),
    title: tool?.displayName ?? task.name,
    description: tool?.description || service.description || `${task.name} of ${ServiceRef.path(service.ref)}`,
    keywords: [ServiceRef.path(service.ref), ...(tool?.category ? [tool.category] : [])],
    version: processVersion,
    jobControlOptions: [...jobControlOptions(service)],
    outputTransmission: ["value", "reference"],
    links: [
      OgcLink.make(href, OgcLink.rels.self, OgcLink.mediaTypes.json, "Process description"),
      OgcLink.make(`${href}?f=html`, OgcLink.rels.alternate, OgcLink.mediaTypes.html, "Process description as HTML"),
      OgcLink.make(
        OgcResource.url(root, { _tag: "Execution", process: ref }),
        OgcLink.rels.execute,
        OgcLink.mediaTypes.json,
        "Execute"
      )
    ]
  }
}

/**
 * The description of a process: its summary with inputs and outputs.
 *
 * @category constructors
 */
export const describe = (root: string, published: Published): OgcProcess.Description => {
  const tool = published.task.tool
  return {
    ...summary(root, published),
    inputs: Object.fromEntries((tool === undefined ? [] : Tool.inputs(tool)).map((p) => [p.name, describeInput(p)])),
    outputs: Object.fromEntries((tool === undefined ? [] : Tool.outputs(tool)).map((p) => [p.name, describeOutput(p)]))
  }
}

/**
 * An output value as OGC sends it. `value`: a feature set as GeoJSON (`application/geo+json`), an object as JSON,
 * anything else as it is; a file is always a link to it.
 *
 * @category models
 */
export type Output =
  | { readonly _tag: "value"; readonly value: unknown; readonly mediaType: string; readonly bare: boolean }
  | { readonly _tag: "file"; readonly href: string; readonly path: string }

/**
 * A job's value as an OGC output. `fileUrl` is the URL of one of the job's output files.
 *
 * @category constructors
 */
export const output = (value: Job.JobValue, fileUrl: (path: string) => string): Output => {
  const v = value.value
  const file = v as { path?: unknown } | null
  if (value.dataType === "GPDataFile" && typeof file?.path === "string") {
    return { _tag: "file", href: fileUrl(file.path), path: file.path }
  }
  if (value.dataType === "GPFeatureRecordSetLayer" && v !== null && typeof v === "object") {
    try {
      return {
        _tag: "value",
        value: EsriGeometry.toGeoJSON(v).features,
        mediaType: OgcLink.mediaTypes.geojson,
        bare: false
      }
    } catch {
      return { _tag: "value", value: v, mediaType: OgcLink.mediaTypes.json, bare: false }
    }
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    return { _tag: "value", value: v, mediaType: OgcLink.mediaTypes.json, bare: false }
  }
  return {
    _tag: "value",
    value: v,
    mediaType: typeof v === "string" ? OgcLink.mediaTypes.text : OgcLink.mediaTypes.json,
    bare: true
  }
}

/**
 * An output in a results document: a bare value, a qualified value `{value, mediaType}` (objects, which the 1.0
 * schema admits only so), or a link (`reference`, and files).
 *
 * @category constructors
 */
export const inDocument = (
  out: Output,
  reference: { readonly href: string; readonly type: string } | undefined
): unknown =>
  out._tag === "file"
    ? { href: out.href, type: "application/octet-stream", rel: "enclosure" }
    : reference !== undefined
      ? { href: reference.href, type: reference.type, rel: "enclosure" }
      : out.bare
        ? out.value
        : { value: out.value, mediaType: out.mediaType }
