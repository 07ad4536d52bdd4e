/**
 * `geojobs ogc …`: OGC API – Processes from a terminal, on the same jobs — `processes`, `describe`, `execute`
 * (synchronous raw or `--document`, or `--async`; `--wait` follows a job to its end and prints its results), `status`,
 * `wait`, `results`, `dismiss` and `jobs` (the 1.0 filters). Each command takes the OGC root first when it is not the
 * signed-in server's (`https://host/ogcapi`); a job is named by its OGC URL or its id. Inputs are `-p name=value`
 * (the value read as JSON when it is JSON, else as text; `name=@file`) or `--params-file`. Output as the other
 * commands print it: tables on a terminal, tab-separated when piped, `--json` for the server's documents.
 *
 * @module
 */
import { writeFileSync } from "node:fs"
import type { Client, OgcStatus } from "@geojobs/client"
import { JobStatus, type OgcProcess, type OgcStatusInfo } from "@geojobs/core"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Jobs from "./Jobs.ts"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s)

/** The exit code of a job that ended in an OGC status: 0 successful, 15 failed, 18 dismissed. */
export const exitCode = (status: OgcStatus): number => Failure.forStatus(JobStatus.fromOgc(status))

const shared = { ...Output.flags, ...Session.flags }

/** `[server] <rest…>`: an OGC root first when the first argument is a URL and more follow. */
const split = (args: ReadonlyArray<string>, rest: number) =>
  args.length > rest && isUrl(args[0] ?? "")
    ? { server: args[0], rest: args.slice(1) }
    : { server: undefined, rest: [...args] }

/** A client and the job named by `<job-url>`, `<job-id>` or `<server> <job-id>`. */
const connectToJob = (flags: Session.Flags, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const [first = "", second] = args
    if (args.length === 1 && isUrl(first)) {
      const at = first.search(/\/jobs\/[^/]+(?:\/results)?\/?(?:[?#].*)?$/)
      if (at < 0) return yield* Failure.badUsage(`${first} is not an OGC job URL (…/jobs/<job-id>)`)
      const client = yield* Session.connectOgc(flags, first.slice(0, at))
      return { client, jobId: yield* client.ogc.parseJobUrl(first) }
    }
    if (args.length === 1) return { client: yield* Session.connectOgc(flags, undefined), jobId: first }
    if (args.length === 2 && isUrl(first) && second !== undefined)
      return { client: yield* Session.connectOgc(flags, first), jobId: second }
    return yield* Failure.badUsage(
      `Name the job by its OGC URL (…/ogcapi/jobs/<id>), its id, or the OGC root and its id; got "${args.join(" ")}"`
    )
  })

const jobArgs = Argument.String("job").pipe(
  Argument.withDescription("The job: its OGC URL, its id, or the OGC root (https://host/ogcapi) and its id"),
  Argument.variadic({ min: 1, max: 2 })
)

const serverArg = Argument.String("server").pipe(
  Argument.withDescription("The OGC root, e.g. https://host/ogcapi (default: the signed-in server's)"),
  Argument.optional
)

// ------------------------------------------------------------------------------------------------------- printing

const percent = (s: OgcStatusInfo.OgcStatusInfo) => (s.progress === undefined ? "" : `${s.progress}%`)

const printStatus = (out: Output.Output, client: Client, s: OgcStatusInfo.OgcStatusInfo) => {
  if (out.mode === "json") return out.json(s)
  out.fields([
    ["job", s.jobID],
    ["process", s.processID ?? ""],
    ["status", Output.paintStatus(out.color, JobStatus.fromOgc(s.status), s.status)],
    ...(s.progress === undefined ? [] : [["progress", percent(s)] as const]),
    ...(s.message === undefined ? [] : [["message", s.message] as const]),
    ...(s.created === undefined ? [] : [["created", s.created] as const]),
    ...(s.started === undefined ? [] : [["started", s.started] as const]),
    ...(s.finished === undefined ? [] : [["finished", s.finished] as const]),
    ["url", client.ogc.jobUrl(s.jobID)]
  ])
}

/** A value of a results document (a value, a qualified value or a link) in a table cell. */
const cell = (value: unknown): string => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const v = value as { href?: unknown; value?: unknown; type?: unknown; features?: unknown }
    if (typeof v.href === "string") return v.href
    if (v.type === "FeatureCollection" && Array.isArray(v.features)) return Output.count(v.features.length, "feature")
    if ("value" in v) return cell(v.value)
  }
  return Output.compact(value)
}

const printResults = (out: Output.Output, results: OgcProcess.Results) => {
  if (out.mode === "json") return out.json(results)
  out.table<readonly [string, unknown]>(
    [
      { heading: "OUTPUT", cell: ([name]) => name },
      { heading: "VALUE", cell: ([, value]) => cell(value) }
    ],
    Object.entries(results)
  )
}

const writeOut = (path: string, data: string | Uint8Array) =>
  Effect.try({
    try: () => writeFileSync(path, data),
    catch: (e) => Failure.make(`Cannot write ${path}: ${(e as Error).message}`)
  })

/** Follows a job to its end, a line on stderr at each change; fails with its exit code unless it succeeded. */
const follow = (out: Output.Output, client: Client, jobId: string) =>
  Effect.gen(function* () {
    let last = ""
    const done = yield* client.ogc.waitForJob(jobId, {
      intervalMs: 300,
      maxIntervalMs: 1000,
      onProgress: (s) => {
        const line = [s.status, percent(s), s.message ?? ""].filter((x) => x !== "").join(" ")
        if (out.mode !== "json" && line !== last) process.stderr.write(`${out.errColor.dim(line)}\n`)
        last = line
      }
    })
    const code = exitCode(done.status)
    if (code !== 0) {
      if (out.mode === "json") out.json(done)
      return yield* Failure.make(
        `Job ${jobId} ${done.status}${done.message === undefined ? "" : `: ${done.message}`}`,
        code
      )
    }
    return done
  })

// ------------------------------------------------------------------------------------------------------- commands

/** `geojobs ogc processes [server] [--limit N]`. */
export const processes = Command.make(
  "processes",
  {
    ...shared,
    server: serverArg,
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many processes"), Flag.optional)
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connectOgc(input, Option.getOrUndefined(input.server))
    const list = yield* client.ogc.processes({ limit: Option.getOrUndefined(input.limit) })
    if (out.mode === "json") return out.json(list)
    out.table<OgcProcess.Summary>(
      [
        { heading: "PROCESS", cell: (p) => p.id },
        { heading: "TITLE", cell: (p) => p.title ?? "" },
        { heading: "EXECUTE", cell: (p) => (p.jobControlOptions ?? []).filter((o) => o !== "dismiss").join(",") }
      ],
      list.processes
    )
    const n = list.processes.length
    out.note(`${n} ${n === 1 ? "process" : "processes"}`)
  })
).pipe(
  Command.withDescription("List the processes (every task of every service you may use)"),
  Command.withExamples([
    { command: "geojobs ogc processes", description: "On the signed-in server" },
    { command: "geojobs ogc processes https://gis.example.com/ogcapi --json", description: "At an OGC root" }
  ])
)

const schemaType = (schema: Readonly<Record<string, unknown>>): string => {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(", ")}`
  const type = typeof schema.type === "string" ? schema.type : undefined
  const media = typeof schema.contentMediaType === "string" ? schema.contentMediaType : undefined
  const format = typeof schema.format === "string" ? schema.format : undefined
  if (type === undefined && Array.isArray(schema.oneOf)) return schema.oneOf.map((s) => schemaType(s)).join(" | ")
  return [type ?? "object", format ?? media].filter((x) => x !== undefined).join(" ")
}

/** `geojobs ogc describe [server] <process>`. */
export const describe = Command.make(
  "describe",
  {
    ...shared,
    args: Argument.String("[server] process").pipe(
      Argument.withDescription(
        "The process id (Folder.Service.Task), after the OGC root when it is not the signed-in server's"
      ),
      Argument.variadic({ min: 1, max: 2 })
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { server, rest } = split(input.args, 1)
    if (rest.length !== 1) return yield* Failure.badUsage("Give the process id, after the OGC root if any")
    const client = yield* Session.connectOgc(input, server)
    const doc = yield* client.ogc.process(rest[0] ?? "")
    if (out.mode === "json") return out.json(doc)
    out.fields([
      ["process", doc.id],
      ["title", doc.title ?? ""],
      ["version", doc.version],
      ["execute", (doc.jobControlOptions ?? []).join(", ")],
      ...(doc.description === undefined || doc.description === "" ? [] : [["description", doc.description] as const])
    ])
    out.line("")
    type Row = { name: string; direction: string; schema: Record<string, unknown>; required: string }
    const rows: Array<Row> = [
      ...Object.entries(doc.inputs).map(([name, d]) => ({
        name,
        direction: "input",
        schema: d.schema,
        required: (d.minOccurs ?? 1) > 0 ? "required" : ""
      })),
      ...Object.entries(doc.outputs).map(([name, d]) => ({ name, direction: "output", schema: d.schema, required: "" }))
    ]
    out.table<Row>(
      [
        { heading: "NAME", cell: (r) => r.name },
        { heading: "DIRECTION", cell: (r) => r.direction },
        { heading: "TYPE", cell: (r) => schemaType(r.schema) },
        { heading: "REQUIRED", cell: (r) => r.required },
        { heading: "DEFAULT", cell: (r) => Output.compact(r.schema.default) }
      ],
      rows
    )
  })
).pipe(
  Command.withDescription("Describe a process: its inputs and outputs with their types"),
  Command.withExamples([{ command: "geojobs ogc describe Analysis.Geometry.Buffer", description: "Buffer's inputs" }])
)

/**
 * Inputs from `-p name=value` pairs (after `--params-file`'s): a value that is JSON is sent as that JSON (numbers,
 * booleans, objects, arrays; quote text that looks like JSON: `-p 'name="42"'`), anything else as text; `name=@file`
 * reads the file the same way.
 */
export const parseInputs = (pairs: ReadonlyArray<string>) =>
  Effect.map(Jobs.parseParams(pairs), (params) =>
    Object.fromEntries(
      Object.entries(params).map(([name, text]) => {
        try {
          return [name, JSON.parse(text) as unknown]
        } catch {
          return [name, text]
        }
      })
    )
  )

/** `geojobs ogc execute [server] <process> [-p name=value …] [--async] [--wait] [--document] [-o file]`. */
export const execute = Command.make(
  "execute",
  {
    ...shared,
    args: Argument.String("[server] process").pipe(
      Argument.withDescription("The process id, after the OGC root when it is not the signed-in server's"),
      Argument.variadic({ min: 1, max: 2 })
    ),
    param: Flag.String("param").pipe(
      Flag.withAlias("p"),
      Flag.withDescription("An input as name=value (JSON when it is JSON, else text), or name=@file (repeat)"),
      Flag.atLeast(0)
    ),
    paramsFile: Flag.String("params-file").pipe(
      Flag.withDescription("A JSON file of input names and values"),
      Flag.optional
    ),
    async: Flag.Boolean("async").pipe(
      Flag.withDefault(false),
      Flag.withDescription("Ask for an asynchronous execution (Prefer: respond-async): print the job")
    ),
    wait: Flag.Boolean("wait").pipe(
      Flag.withDefault(false),
      Flag.withAlias("w"),
      Flag.withDescription("When the server answers with a job, follow it to its end and print its results")
    ),
    document: Flag.Boolean("document").pipe(
      Flag.withDefault(false),
      Flag.withDescription("Ask for a results document (response: document) instead of the raw output")
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Write the raw output (or the results document) to this file"),
      Flag.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { server, rest } = split(input.args, 1)
    if (rest.length !== 1) return yield* Failure.badUsage("Give the process id, after the OGC root if any")
    const processId = rest[0] ?? ""
    const fromFile = Option.isSome(input.paramsFile) ? yield* Jobs.readParamsFile(input.paramsFile.value) : {}
    const inputs = { ...fromFile, ...(yield* parseInputs(input.param)) }
    const client = yield* Session.connectOgc(input, server)
    const file = Option.getOrUndefined(input.output)
    const answer = yield* client.ogc.execute(processId, {
      inputs,
      async: input.async,
      ...(input.document ? { response: "document" as const } : {})
    })
    const writeDocument = (results: OgcProcess.Results) =>
      file === undefined
        ? Effect.sync(() => printResults(out, results))
        : Effect.andThen(
            writeOut(file, `${JSON.stringify(results, null, 2)}\n`),
            Effect.sync(() => out.note(`Wrote the results to ${file}`))
          )
    switch (answer._tag) {
      case "Job": {
        if (input.wait) {
          if (out.mode !== "json") process.stderr.write(`${out.errColor.dim(`Accepted ${answer.location}`)}\n`)
          yield* follow(out, client, answer.jobId)
          return yield* writeDocument(yield* client.ogc.results(answer.jobId))
        }
        if (out.mode === "json") return out.json({ ...answer.status, location: answer.location })
        out.fields([
          ["job", answer.jobId],
          ["status", answer.status.status],
          ["location", answer.location]
        ])
        out.note(`Follow it with: geojobs ogc wait ${answer.location}`)
        return
      }
      case "Document":
        return yield* writeDocument(answer.results)
      case "Reference":
        if (out.mode === "json") return out.json({ href: answer.href, type: answer.mediaType })
        return out.line(answer.href)
      case "Raw": {
        if (file !== undefined) {
          yield* writeOut(file, answer.bytes)
          if (out.mode === "json") return out.json({ file, bytes: answer.bytes.length, type: answer.mediaType })
          return out.note(`Wrote ${answer.bytes.length} bytes (${answer.mediaType}) to ${file}`)
        }
        if (answer.value === undefined)
          return yield* Failure.make(`The result is ${answer.mediaType || "binary"}: write it to a file with -o <file>`)
        if (out.mode === "json" || typeof answer.value !== "string") return out.json(answer.value)
        return out.line(answer.value)
      }
    }
  })
).pipe(
  Command.withDescription(
    "Execute a process: the raw output (or --document), or with --async the job; --wait follows it and prints its results"
  ),
  Command.withExamples([
    { command: "geojobs ogc execute System.SyncTools.Echo -p input_string=hello", description: "Prints hello" },
    {
      command: "geojobs ogc execute System.Utilities.Sleep -p seconds=5 --async --wait",
      description: "Follow the job, then print its results"
    },
    {
      command:
        'geojobs ogc execute Analysis.Geometry.Buffer -p Input_Features=@sites.geojson -p \'Distance={"distance":2,"units":"esriKilometers"}\' --wait -o out.json',
      description: "GeoJSON in, the results document to a file"
    }
  ])
)

/** `geojobs ogc status <job>`. */
export const status = Command.make(
  "status",
  { ...shared, job: jobArgs },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, jobId } = yield* connectToJob(input, input.job)
    printStatus(out, client, yield* client.ogc.job(jobId))
  })
).pipe(Command.withDescription("Show a job's status (statusInfo): status, progress, message, times"))

/** `geojobs ogc wait <job>`. */
export const wait = Command.make(
  "wait",
  { ...shared, job: jobArgs },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, jobId } = yield* connectToJob(input, input.job)
    printStatus(out, client, yield* follow(out, client, jobId))
  })
).pipe(Command.withDescription("Wait for a job to end; exit 0 when it succeeds, 15 failed, 18 dismissed"))

/** `geojobs ogc results <job> [-o file]`. */
export const results = Command.make(
  "results",
  {
    ...shared,
    job: jobArgs,
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Write the results document to this file"),
      Flag.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, jobId } = yield* connectToJob(input, input.job)
    const doc = yield* client.ogc.results(jobId)
    const file = Option.getOrUndefined(input.output)
    if (file === undefined) return printResults(out, doc)
    yield* writeOut(file, `${JSON.stringify(doc, null, 2)}\n`)
    out.note(`Wrote the results to ${file}`)
  })
).pipe(Command.withDescription("Print a job's results document (-o file to write it)"))

/** `geojobs ogc dismiss <job>`. */
export const dismiss = Command.make(
  "dismiss",
  { ...shared, job: jobArgs },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, jobId } = yield* connectToJob(input, input.job)
    const s = yield* client.ogc.dismiss(jobId)
    if (out.mode === "json") return out.json(s)
    out.fields([
      ["job", s.jobID],
      ["status", s.status]
    ])
  })
).pipe(Command.withDescription("Dismiss a job: cancel it if it runs, and remove it (for both dialects)"))

const words = (o: Option.Option<string>) =>
  Option.isNone(o)
    ? undefined
    : o.value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")

/** `geojobs ogc jobs [server] [--status …] [--process …] [--datetime …] [--min-duration s] [--max-duration s] [--limit N]`. */
export const jobs = Command.make(
  "jobs",
  {
    ...shared,
    server: serverArg,
    status: Flag.String("status").pipe(
      Flag.withDescription(
        "Only jobs in these statuses, comma-separated: accepted, running, successful, failed, dismissed"
      ),
      Flag.optional
    ),
    process: Flag.String("process").pipe(
      Flag.withDescription("Only jobs of these processes, comma-separated"),
      Flag.optional
    ),
    datetime: Flag.String("datetime").pipe(
      Flag.withDescription("Created at an RFC 3339 instant or in an interval start/end (.. for an open end)"),
      Flag.optional
    ),
    minDuration: Flag.Int("min-duration").pipe(Flag.withDescription("Ran at least this many seconds"), Flag.optional),
    maxDuration: Flag.Int("max-duration").pipe(Flag.withDescription("Ran at most this many seconds"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many jobs"), Flag.withDefault(50))
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connectOgc(input, Option.getOrUndefined(input.server))
    const page = yield* client.ogc.jobs({
      status: words(input.status) as ReadonlyArray<OgcStatus> | undefined,
      processID: words(input.process),
      datetime: Option.getOrUndefined(input.datetime),
      minDuration: Option.getOrUndefined(input.minDuration),
      maxDuration: Option.getOrUndefined(input.maxDuration),
      limit: input.limit
    })
    if (out.mode === "json") return out.json(page)
    out.table<OgcStatusInfo.OgcStatusInfo>(
      [
        { heading: "JOB", cell: (s) => s.jobID },
        { heading: "PROCESS", cell: (s) => s.processID ?? "" },
        { heading: "STATUS", cell: (s) => Output.paintStatus(out.color, JobStatus.fromOgc(s.status), s.status) },
        { heading: "PROGRESS", cell: percent },
        { heading: "CREATED", cell: (s) => s.created ?? "" }
      ],
      page.jobs
    )
    const more = page.links.some((l) => l.rel === "next")
    out.note(`${Output.count(page.jobs.length, "job")}${more ? ` (more: raise --limit)` : ""}`)
  })
).pipe(
  Command.withDescription("List jobs with the OGC filters (status, process, datetime, duration)"),
  Command.withExamples([
    { command: "geojobs ogc jobs --status running,accepted", description: "What is under way" },
    {
      command: "geojobs ogc jobs --process System.Utilities.Sleep --status failed --limit 5",
      description: "Recent failures"
    }
  ])
)

/** `geojobs ogc …`. */
export const ogc = Command.make("ogc").pipe(
  Command.withDescription("OGC API – Processes: processes, execute, status, wait, results, dismiss and jobs"),
  Command.withSubcommands([processes, describe, execute, status, wait, results, dismiss, jobs])
)
