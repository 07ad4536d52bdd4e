/**
 * Browsing what a server offers: `services` lists its services (every folder, or one), `task` describes a service's
 * tasks or one task's parameters. `allServices` is the walk over every folder that the admin commands share.
 *
 * @module
 */
import type { Client } from "@geojobs/client"
import { Effect, Option } from "effect"
import { Argument, Command } from "effect/cli"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"

/** Every service on the server: the root lists folders, so each folder is read too. */
export const allServices = (client: Client) =>
  Effect.gen(function* () {
    const root = yield* client.services()
    const folders = yield* Effect.forEach(root.folders, (f) => client.services(f), { concurrency: 4 })
    return [...root.services, ...folders.flatMap((f) => f.services)]
  })

/** `geojobs services [folder]`. */
export const services = Command.make(
  "services",
  {
    ...Output.flags,
    ...Session.flags,
    folder: Argument.String("folder").pipe(Argument.withDescription("Only this folder"), Argument.optional)
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(input)
    const folder = Option.getOrUndefined(input.folder)
    if (out.mode === "json") return out.json(yield* client.services(folder))
    const rows = folder === undefined ? yield* allServices(client) : (yield* client.services(folder)).services
    out.table(
      [
        { heading: "SERVICE", cell: (r: (typeof rows)[number]) => r.name },
        { heading: "TYPE", cell: (r) => r.type }
      ],
      rows
    )
    out.note(Output.count(rows.length, "service"))
  })
).pipe(
  Command.withDescription("List services (every folder, or one)"),
  Command.withExamples([{ command: "geojobs services System", description: "The services in folder System" }])
)

const choiceList = (p: Record<string, unknown>) => (Array.isArray(p.choiceList) ? p.choiceList.join(", ") : "")
const executionWord = (executionType: string) => executionType.replace(/^esriExecutionType/, "")

/** `geojobs task <service> [task]`. */
export const task = Command.make(
  "task",
  {
    ...Output.flags,
    ...Session.flags,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    task: Argument.String("task").pipe(
      Argument.withDescription("Task name (omit to list the service's tasks)"),
      Argument.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(input)
    if (Option.isNone(input.task)) {
      const doc = yield* client.service(input.service)
      if (out.mode === "json") return out.json(doc)
      out.fields([
        ["service", input.service],
        ["execution", executionWord(doc.executionType)],
        ["tasks", doc.tasks.join(", ")]
      ])
      return
    }
    const doc = yield* client.task(input.service, input.task.value)
    if (out.mode === "json") return out.json(doc)
    const description = typeof doc.description === "string" ? doc.description : ""
    out.fields([
      ["task", `${input.service}/${doc.name}`],
      ...(description === "" ? [] : [["description", description] as const]),
      ...(typeof doc.executionType === "string" ? [["execution", executionWord(doc.executionType)] as const] : [])
    ])
    type P = (typeof doc.parameters)[number]
    out.line("")
    out.table<P>(
      [
        { heading: "PARAMETER", cell: (p) => p.name },
        { heading: "DIRECTION", cell: (p) => p.direction.replace(/^esriGPParameterDirection/, "") },
        { heading: "TYPE", cell: (p) => p.dataType },
        { heading: "REQUIRED", cell: (p) => (p.parameterType === "esriGPParameterTypeRequired" ? "yes" : "no") },
        { heading: "DEFAULT", cell: (p) => Output.compact(p.defaultValue) },
        { heading: "CHOICES", cell: (p) => choiceList(p) }
      ],
      doc.parameters
    )
  })
).pipe(
  Command.withDescription("Describe a task: its parameters, types, defaults and choices (or a service's tasks)"),
  Command.withExamples([{ command: "geojobs task Analysis/Geometry Buffer", description: "Buffer's parameters" }])
)
