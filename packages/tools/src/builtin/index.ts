/**
 * The built-in tools by name, as module URLs a worker thread can import (each module default-exports its tool).
 * URLs point at `.ts` sources when running from source and at `.js` once built.
 *
 * @module
 */
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js"
const at = (name: string) => new URL(`./${name}${extension}`, import.meta.url).href

/** @category models */
export const names = [
  "Echo",
  "Sleep",
  "Buffer",
  "Clip",
  "Dissolve",
  "Simplify",
  "ConvexHull",
  "Centroids",
  "CalculateGeometry",
  "Project",
  "ConvertFeatures",
  "ExtractData"
] as const

/** @category models */
export type BuiltinName = (typeof names)[number]

/** Module URL of each built-in tool. @category models */
export const modules: { readonly [N in BuiltinName]: string } = Object.fromEntries(names.map((n) => [n, at(n)])) as {
  readonly [N in BuiltinName]: string
}

/** @category guards */
export const isBuiltin = (name: string): name is BuiltinName => (names as ReadonlyArray<string>).includes(name)
