/**
 * The worker-thread side of a job: imports the task's tool module (once per worker), gives the tool a context whose
 * progress, messages and AbortSignal travel over the job's MessagePort, runs it, and answers its outputs. A tool that
 * throws fails its job; the engine terminates this thread when a job times out or ignores a cancel.
 *
 * @module
 */
import { mkdirSync } from "node:fs"
import type { Job } from "@geojobs/core"
import type { EngineCommand, WorkerEvent, WorkerResult, WorkerTask } from "./WorkerProtocol.ts"

/** What the worker needs of a tool module's export. */
interface RunnableTool {
  readonly execute: (inputs: Record<string, unknown>, context: ToolRunContext) => unknown
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly dataType: string; readonly direction?: string }>
}

/** The context handed to a tool. */
interface ToolRunContext {
  readonly jobId: string
  readonly signal: AbortSignal
  readonly outputDir: string
  readonly progress: (percent: number | undefined, message?: string) => void
  readonly message: (level: Job.MessageLevel, text: string) => void
}

const tools = new Map<string, Promise<RunnableTool>>()

const load = (moduleUrl: string, exportName: string): Promise<RunnableTool> => {
  const key = `${moduleUrl}#${exportName}`
  let tool = tools.get(key)
  if (tool === undefined) {
    tool = import(moduleUrl).then((module: Record<string, unknown>) => {
      const candidate = module[exportName] as Partial<RunnableTool> | undefined
      if (candidate === undefined || typeof candidate.execute !== "function") {
        throw new Error(`${moduleUrl} has no tool export named ${exportName}`)
      }
      return candidate as RunnableTool
    })
    tools.set(key, tool)
    tool.catch(() => tools.delete(key))
  }
  return tool
}

const outputType = (tool: RunnableTool, name: string): string =>
  tool.parameters?.find((p) => p.name === name)?.dataType ?? "GPString"

/** Runs one job (piscina calls this). */
export default async function run(task: WorkerTask): Promise<WorkerResult> {
  const controller = new AbortController()
  task.port.on("message", (command: EngineCommand) => {
    if (command.type === "abort") controller.abort(new Error("Job cancelled"))
  })
  const post = (event: WorkerEvent) => task.port.postMessage(event)
  // The time limit counts from here: starting a thread and loading modules is not the tool's time.
  post({ type: "started" })
  try {
    const tool = await load(task.moduleUrl, task.exportName ?? "default")
    const inputs = Object.fromEntries(Object.entries(task.inputs).map(([name, v]) => [name, v.value]))
    const outputs = (await tool.execute(inputs, {
      jobId: task.jobId,
      signal: controller.signal,
      // Created on first use: most tools write no files, and a folder per job is not free.
      get outputDir() {
        mkdirSync(task.outputDir, { recursive: true })
        return task.outputDir
      },
      progress: (percent, message) => post({ type: "progress", percent, message: message ?? "" }),
      message: (level, text) => post({ type: "message", level, text })
    })) as Record<string, unknown> | undefined
    return Object.fromEntries(
      Object.entries(outputs ?? {}).map(([name, value]) => [name, { dataType: outputType(tool, name), value }])
    )
  } finally {
    task.port.close()
  }
}
