/**
 * `@geojobs/tools`: defining geoprocessing tools, decoding GP parameter values, the services file, and the built-in
 * tools. Each module is a namespace named after the concept it owns.
 *
 * @module
 */
export * as Builtin from "./builtin/index.ts"
export * as EsriGeometry from "./EsriGeometry.ts"
export * as GPValue from "./GPValue.ts"
export * as ServicesFile from "./ServicesFile.ts"
export * as TaskDescription from "./TaskDescription.ts"
export * as Tool from "./Tool.ts"
export { defineTool, type ToolContext } from "./Tool.ts"
export * as ToolModule from "./ToolModule.ts"
