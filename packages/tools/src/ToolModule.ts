/**
 * Loading tools from modules: a built-in by name, or a user's module by path or URL (a `.ts` module works on Node 24,
 * which strips its types). The export must be a tool made with `defineTool`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Data, Effect } from "effect"
import { isTool, type Tool } from "./Tool.ts"

/**
 * A module that could not be loaded, or that exports no tool under the name asked for.
 *
 * @category errors
 */
export class ToolLoadError extends Data.TaggedError("ToolLoadError")<{
  readonly module: string
  readonly exportName: string
  readonly reason: string
}> {
  override get message(): string {
    return `Cannot load tool ${this.exportName} from ${this.module}: ${this.reason}`
  }
}

/**
 * The URL of a module given as a URL, an absolute path, or a path relative to `base` (a folder).
 *
 * @category constructors
 */
export const moduleUrl = (specifier: string, base: string): string =>
  /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier)
    ? specifier
    : pathToFileURL(isAbsolute(specifier) ? specifier : resolve(base, specifier)).href

/**
 * Imports a module and returns the tool it exports as `exportName` (default: its default export).
 *
 * @category constructors
 */
export const loadTool = (url: string, exportName = "default"): Effect.Effect<Tool, ToolLoadError> =>
  Effect.tryPromise({
    try: () => import(url) as Promise<Record<string, unknown>>,
    catch: (cause) =>
      new ToolLoadError({ module: url, exportName, reason: cause instanceof Error ? cause.message : String(cause) })
  }).pipe(
    Effect.flatMap((module) => {
      const candidate = module[exportName]
      return isTool(candidate)
        ? Effect.succeed(candidate)
        : Effect.fail(
            new ToolLoadError({
              module: url,
              exportName,
              reason: candidate === undefined ? "no such export" : "the export is not a tool made with defineTool"
            })
          )
    })
  )
