/**
 * How a tool appears in the services directory: the task resource JSON (`…/GPServer/<task>`, arcgis-api.md §5.2) with
 * every key clients read, and the parameter value documents of results (`{paramName, dataType, value}`, §5.3).
 *
 * @module
 */
import { isRequired } from "./GPValue.ts"
import type { Parameter, ToolDefinition } from "./Tool.ts"

/** One parameter as the task resource lists it. @category models */
export interface ParameterDescription {
  readonly name: string
  readonly dataType: string
  readonly displayName: string
  readonly description: string
  readonly direction: "esriGPParameterDirectionInput" | "esriGPParameterDirectionOutput"
  readonly defaultValue: unknown
  readonly parameterType: "esriGPParameterTypeRequired" | "esriGPParameterTypeOptional" | "esriGPParameterTypeDerived"
  readonly category: string
  readonly choiceList?: ReadonlyArray<string>
  readonly filter?: { readonly type: string; readonly [key: string]: unknown }
}

/** The task resource. @category models */
export interface TaskDescription {
  readonly name: string
  readonly displayName: string
  readonly description: string
  readonly category: string
  readonly helpUrl: string
  readonly executionType: "esriExecutionTypeAsynchronous" | "esriExecutionTypeSynchronous"
  readonly parameters: ReadonlyArray<ParameterDescription>
}

const featureTemplate = (p: Parameter) => ({
  displayFieldName: "",
  geometryType: p.geometryTypes?.[0] ?? "esriGeometryPoint",
  spatialReference: { wkid: 4326, latestWkid: 4326 },
  fields: [],
  features: [],
  exceededTransferLimit: false
})

const describeParameter = (p: Parameter): ParameterDescription => {
  const output = p.direction === "output"
  const feature = p.dataType === "GPFeatureRecordSetLayer"
  const base: ParameterDescription = {
    name: p.name,
    dataType: p.dataType,
    displayName: p.displayName ?? p.name.replaceAll("_", " "),
    description: p.description ?? "",
    direction: output ? "esriGPParameterDirectionOutput" : "esriGPParameterDirectionInput",
    defaultValue: p.defaultValue ?? (feature ? featureTemplate(p) : null),
    parameterType: output
      ? "esriGPParameterTypeDerived"
      : isRequired(p)
        ? "esriGPParameterTypeRequired"
        : "esriGPParameterTypeOptional",
    category: p.category ?? ""
  }
  const filter =
    p.range !== undefined
      ? { type: "range", minimum: p.range.minimum ?? null, maximum: p.range.maximum ?? null }
      : p.geometryTypes !== undefined
        ? { type: "featureClass", list: [...p.geometryTypes] }
        : undefined
  return {
    ...base,
    ...(p.choiceList === undefined ? {} : { choiceList: [...p.choiceList] }),
    ...(filter === undefined ? {} : { filter })
  }
}

/**
 * The task resource of a tool published in a service of the given execution type.
 *
 * @category constructors
 */
export const describeTask = (
  tool: ToolDefinition,
  options: { readonly name?: string | undefined; readonly executionType: "async" | "sync" }
): TaskDescription => ({
  name: options.name ?? tool.name,
  displayName: tool.displayName ?? options.name ?? tool.name,
  description: tool.description ?? "",
  category: tool.category ?? "",
  helpUrl: tool.helpUrl ?? "",
  executionType: options.executionType === "sync" ? "esriExecutionTypeSynchronous" : "esriExecutionTypeAsynchronous",
  parameters: tool.parameters.map(describeParameter)
})

/**
 * A result or input as `…/results/<param>` answers it.
 *
 * @category constructors
 */
export const encodeResult = (paramName: string, value: { readonly dataType: string; readonly value: unknown }) => ({
  paramName,
  dataType: value.dataType,
  value: value.value
})
