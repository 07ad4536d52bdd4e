/**
 * The worker-thread side of a job: imports the task's tool module (once per worker), gives the tool a context whose
 * progress, messages and AbortSignal travel over the job's MessagePort, runs it, and answers its outputs. A tool that
 * throws fails its job; the engine terminates this thread when a job times out or ignores a cancel. When the thread
 * itself is ending (an exception nobody caught, `process.exit`), the running jobs' ports are told why first; after a
 * job that left the heap big, the thread asks the engine to retire it.
 *
 * @module
 */
import { mkdirSync, readFileSync } from "node:fs"
import { getHeapStatistics } from "node:v8"
import { type MessagePort, threadId } from "node:worker_threads"
import type { Job } from "@geojobs/core"
// The module itself, not the package index: a worker thread loads only what it uses.
import * as EncodedValue from "@geojobs/core/EncodedValue"
import * as FeatureInputs from "./FeatureInputs.ts"
import * as ThreadPriority from "./ThreadPriority.ts"
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

// Already so when started through `ThreadPriority.workerEntry` (as the runner does); here for any other start.
ThreadPriority.lowerThisThread(ThreadPriority.toolNiceness)

/** The ports of the jobs running on this thread, to say why it ends. */
const active = new Set<MessagePort>()

const textOf = (error: unknown): string => (error instanceof Error ? error.message || error.name : String(error))

// Neither handler keeps the thread alive: the monitor only watches, and "exit" runs as the thread stops. Messages
// posted here are queued on the engine's side at once, and it reads them after the run has failed. (An out-of-memory
// end runs no JavaScript: the engine recognises it by its error code.)
process.on("uncaughtExceptionMonitor", (error) => {
  for (const port of active) port.postMessage({ type: "crashed", text: textOf(error) } satisfies WorkerEvent)
})
process.on("exit", (code) => {
  for (const port of active) port.postMessage({ type: "exited", code } satisfies WorkerEvent)
})

const MB = 1024 * 1024

/**
 * Asks to be retired when the heap is above the threshold, and waits for the engine's answer: piscina hands this
 * thread its next job as soon as it answers this one, so the engine must know before the answer leaves.
 */
const retireIfBig = (task: WorkerTask): Promise<void> | undefined => {
  const heapUsedMb = Math.round(getHeapStatistics().used_heap_size / MB)
  if (heapUsedMb <= task.retireAboveHeapMb) return undefined
  return new Promise<void>((resolve) => {
    task.port.on("message", (command: EngineCommand) => {
      if (command.type === "retired") resolve()
    })
    task.port.postMessage({ type: "retire", threadId, heapUsedMb } satisfies WorkerEvent)
  })
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
  active.add(task.port)
  // The time limit counts from here: starting a thread and loading modules is not the tool's time.
  post({ type: "started" })
  try {
    const tool = await load(task.moduleUrl, task.exportName ?? "default")
    // Uploaded items given for feature-set parameters are read into feature sets here, off the main thread.
    const inputs = await FeatureInputs.read(
      task.inputs,
      EncodedValue.decodeAllNow(task.inputs, (path) => readFileSync(path, "utf8")),
      task.outputDir
    )
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
    // Encoded here, off the main thread, which stores the text as it is.
    return EncodedValue.encodeAllNow(outputs ?? {}, (name) => outputType(tool, name))
  } finally {
    // After a failed job too: what it allocated stays on this thread either way.
    await retireIfBig(task)
    active.delete(task.port)
    task.port.close()
  }
}
