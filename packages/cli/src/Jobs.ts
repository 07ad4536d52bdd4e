/**
 * Running jobs and reading what they made: `submit` (a synchronous task runs at once), `job`, `watch`, `results` and
 * `cancel`. Owns how parameters are read from the command line (`-p name=value`, `name=@file` — a file parameter's file
 * uploaded, see `Upload` — and `--params-file`) and
 * how result values are summarised, printed and written to a file (a feature set in the format the file's extension
 * names, made by the server).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs"
import { ClientError, type FileFormat, fileFormatOf, fileFormats } from "@geojobs/client"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"
import * as Upload from "./Upload.ts"
import * as Watch from "./Watch.ts"

export const readParamsFile = (path: string) =>
  Effect.gen(function* () {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (e) {
      return yield* Failure.badUsage(`--params-file ${path}: ${(e as Error).message}`)
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      return yield* Failure.badUsage(`--params-file ${path} is not JSON: ${(e as Error).message}`)
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      return yield* Failure.badUsage(`--params-file ${path} must hold a JSON object of parameter names and values`)
    return doc as Record<string, unknown>
  })

/**
 * `name=value` pairs; the value is sent as written (GP text: literals, JSON, comma lists, or empty). `name=@path` sends
 * the file's text (an Esri JSON or GeoJSON feature set, say), or — when `upload` answers a value for it (`submit`: a
 * file-typed parameter) — that value; `@@` starts a value that really begins with `@`.
 */
export const parseParams = <E = never>(
  pairs: ReadonlyArray<string>,
  upload?: (name: string, path: string) => Effect.Effect<string | undefined, E>
): Effect.Effect<Record<string, string>, Failure.Failure | E> =>
  Effect.gen(function* () {
    const params: Record<string, string> = {}
    for (const pair of pairs) {
      const at = pair.indexOf("=")
      if (at <= 0) return yield* Failure.badUsage(`--param "${pair}" is not name=value`)
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (value.startsWith("@@")) params[name] = value.slice(1)
      else if (value.startsWith("@")) {
        const uploaded = upload === undefined ? undefined : yield* upload(name, value.slice(1))
        if (uploaded !== undefined) {
          params[name] = uploaded
          continue
        }
        try {
          params[name] = readFileSync(value.slice(1), "utf8")
        } catch (e) {
          return yield* Failure.badUsage(
            `--param ${name}: cannot read ${value.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`
          )
        }
      } else params[name] = value
    }
    return params
  })

// Request options every GP service takes besides its parameters (arcgis-api.md: environments and output options).
const gpOptions = new Set([
  "env:outSR",
  "env:processSR",
  "returnZ",
  "returnM",
  "returnFeatureCollection",
  "context",
  "f"
])

/** `geojobs submit <service> <task> [-p name=value …] [--params-file f.json] [--wait]`. */
export const submit = Command.make(
  "submit",
  {
    ...Output.flags,
    ...Session.flags,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    task: Argument.String("task"),
    param: Flag.String("param").pipe(
      Flag.withAlias("p"),
      Flag.withDescription(
        "A parameter as name=value, or name=@file: a file parameter's file is uploaded (its itemID sent), any other's text sent (repeat; overrides --params-file)"
      ),
      Flag.atLeast(0)
    ),
    paramsFile: Flag.String("params-file").pipe(
      Flag.withDescription("A JSON file of parameter names and values"),
      Flag.optional
    ),
    wait: Flag.Boolean("wait").pipe(
      Flag.withDefault(false),
      Flag.withAlias("w"),
      Flag.withDescription("Watch the job to its end")
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const fromFile = Option.isSome(input.paramsFile) ? yield* readParamsFile(input.paramsFile.value) : {}
    const client = yield* Session.connect(input)
    const [service, description] = yield* Effect.all(
      [client.service(input.service), client.task(input.service, input.task)],
      { concurrency: 2 }
    )
    // `-p name=@file` for a file-typed parameter uploads the file and sends its item: {"itemID": …}.
    const dataTypes = new Map(description.parameters.map((p) => [p.name, p.dataType]))
    const serviceUploads = Upload.hasUploads(service.capabilities)
    const params = {
      ...fromFile,
      ...(yield* parseParams(input.param, (name, path) =>
        Upload.takesUpload(dataTypes.get(name), serviceUploads, path)
          ? Effect.map(Upload.send(client, input.service, path, out, { label: `--param ${name}` }), (item) =>
              JSON.stringify({ itemID: item.itemID })
            )
          : Effect.succeed(undefined)
      ))
    }
    const known = new Set(
      description.parameters.filter((p) => p.direction !== "esriGPParameterDirectionOutput").map((p) => p.name)
    )
    const unknown = Object.keys(params).filter((k) => !known.has(k) && !gpOptions.has(k))
    if (unknown.length > 0)
      return yield* Failure.badUsage(
        `${input.service}/${input.task} has no input parameter ${unknown.map((u) => `"${u}"`).join(", ")}; its parameters are ${[...known].join(", ")}`
      )
    if (service.executionType === "esriExecutionTypeSynchronous") {
      // A synchronous service has no jobs: run it and print the results at once.
      const answer = yield* client.execute(input.service, input.task, params)
      if (out.mode === "json") return out.json(answer)
      for (const m of answer.messages) Watch.writeMessage(out, m)
      printValues(out, answer.results)
      return
    }
    const job = yield* client.submitJob(input.service, input.task, params)
    const ref = client.jobRef(input.service, input.task, job.jobId)
    if (input.wait) {
      if (out.mode !== "json") process.stderr.write(`${out.errColor.dim(`Submitted ${client.jobUrl(ref)}`)}\n`)
      yield* Watch.follow(client, ref, out)
      return
    }
    if (out.mode === "json") return out.json({ ...job, url: client.jobUrl(ref) })
    out.fields([
      ["job", job.jobId],
      ["status", Output.statusWord(job.jobStatus)],
      ["url", client.jobUrl(ref)]
    ])
    out.note(`Follow it with: geojobs watch ${client.jobUrl(ref)}`)
  })
).pipe(
  Command.withDescription("Submit a job (or run a synchronous task); --wait watches it to its end"),
  Command.withExamples([
    {
      command: "geojobs submit System/Utilities Sleep -p seconds=5 --wait",
      description: "Run Sleep and show its progress"
    },
    {
      command:
        'geojobs submit Analysis/Geometry Buffer -p Input_Features=@sites.geojson -p \'Distance={"distance":2,"units":"esriKilometers"}\'',
      description: "Features from a GeoJSON (or Esri JSON) file"
    },
    {
      command: "geojobs submit Analysis/Geometry Buffer --params-file buffer.json -p Dissolve=true",
      description: "Parameters from a JSON file, one overridden"
    }
  ])
)

/** `geojobs job <job> [--admin]`. */
export const job = Session.jobCommand(
  "job",
  {
    admin: Flag.Boolean("admin").pipe(
      Flag.withDefault(false),
      Flag.withDescription("The admin API's job document (job_id, status, times, user; needs an administrator)")
    )
  },
  (options, { out, client, ref }) =>
    Effect.gen(function* () {
      if (options.admin) {
        // The admin document is printed as the server sends it: it is the contract admins script against.
        out.json(yield* client.admin.job(ref.service, ref.jobId))
        return
      }
      const doc = yield* client.job(ref)
      if (out.mode === "json") return out.json(doc)
      const messages = doc.messages ?? []
      out.fields([
        ["job", doc.jobId],
        ["status", Output.statusWord(doc.jobStatus)],
        ...(doc.progress === undefined
          ? []
          : [
              [
                "progress",
                `${doc.progress.percent === undefined ? "" : `${doc.progress.percent}% `}${doc.progress.message ?? ""}`.trim()
              ] as const
            ]),
        ...(doc.results === undefined ? [] : [["results", Object.keys(doc.results).join(", ")] as const]),
        ["url", client.jobUrl(ref)]
      ])
      if (messages.length > 0) {
        out.line("")
        for (const m of messages.slice(-10)) out.line(Watch.messageLine(m, out.color))
        if (messages.length > 10) out.note(`(${messages.length - 10} earlier messages; --json shows all)`)
      }
    })
).pipe(
  Command.withDescription("Show a job's status, progress, results and latest messages (--admin: the admin document)"),
  Command.withExamples([
    { command: "geojobs job System/Utilities j0123…", description: "By service and job id" },
    { command: "geojobs job <job-url> --admin --json", description: "The admin API's job resource" }
  ])
)

/** `geojobs watch <job>`. */
export const watch = Session.jobCommand("watch", {}, (_, { out, client, ref }) =>
  Effect.asVoid(Watch.follow(client, ref, out))
).pipe(
  Command.withDescription(
    "Follow a job with a live progress bar and its messages; exit 0 when it succeeds, 15 Failed, 16 TimedOut, 18 Cancelled"
  )
)

/** `geojobs cancel <job>`. */
export const cancel = Session.jobCommand("cancel", {}, (_, { out, client, ref }) =>
  Effect.gen(function* () {
    const answer = yield* client.cancel(ref)
    if (out.mode === "json") return out.json(answer)
    out.fields([
      ["job", answer.jobId],
      ["status", Output.statusWord(answer.jobStatus)]
    ])
  })
).pipe(Command.withDescription("Cancel a job (queued jobs at once; running ones after the tool stops)"))

// ---------------------------------------------------------------------------------------------------- result values

type Value = { readonly paramName: string; readonly dataType: string; readonly value: unknown }

// The URL of a file value ({"url": …}, as GPDataFile results are written).
const urlOf = (value: unknown): string | undefined => {
  const url = value !== null && typeof value === "object" ? (value as { url?: unknown }).url : undefined
  return typeof url === "string" ? url : undefined
}

const summary = (v: Value): string => {
  const value = v.value
  const features = value !== null && typeof value === "object" ? (value as { features?: unknown }).features : undefined
  if (Array.isArray(features)) {
    const type = (value as { geometryType?: string }).geometryType
    return `${Output.count(features.length, "feature")}${type === undefined ? "" : ` (${type.replace(/^esriGeometry/, "")})`}`
  }
  return urlOf(value) ?? Output.compact(value)
}

const printValues = (out: Output.Output, values: ReadonlyArray<Value>) =>
  out.table<Value>(
    [
      { heading: "PARAMETER", cell: (v) => v.paramName },
      { heading: "TYPE", cell: (v) => v.dataType },
      { heading: "VALUE", cell: summary }
    ],
    values
  )

const writeOut = (path: string, data: string | Uint8Array) =>
  Effect.try({
    try: () => writeFileSync(path, data),
    catch: (e) => Failure.make(`Cannot write ${path}: ${(e as Error).message}`)
  })

// How `results` writes one parameter: a file the server makes, GeoJSON, or the value as the server has it (JSON).
type Written = FileFormat | "json"
const writtenFormats = [...fileFormats, "json"] as const
// Files that are not text: written with -o only, never to the terminal.
const binary: ReadonlySet<Written> = new Set(["shapefile", "kmz", "geopackage"])

/** `geojobs results <job> [param] [--geojson] [--format f] [--out-sr sr] [-o file]`. */
export const results = Command.make(
  "results",
  {
    ...Output.flags,
    ...Session.flags,
    args: Argument.String("job [param]").pipe(
      Argument.withDescription("The job (URL, or service and job id), then optionally one result parameter"),
      Argument.variadic({ min: 1, max: 3 })
    ),
    geojson: Flag.Boolean("geojson").pipe(
      Flag.withDefault(false),
      Flag.withDescription("A feature set result as a GeoJSON FeatureCollection")
    ),
    format: Flag.Literals("format", writtenFormats).pipe(
      Flag.withDescription(
        "Write a feature set as shapefile (zip), csv, kml, kmz, geopackage or geojson, or json (Esri JSON, the value as it is); default: by the -o file's extension (.zip .csv .kml .kmz .gpkg .geojson .json)"
      ),
      Flag.optional
    ),
    outSR: Flag.String("out-sr").pipe(
      Flag.withDescription("Write the features in this spatial reference (a wkid such as 3857, or its JSON)"),
      Flag.optional
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription(
        "Write to this file: a feature set in the format its extension names; a file result is downloaded"
      ),
      Flag.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { job, rest } = Session.splitJobArgs(input.args)
    if (rest.length > 1)
      return yield* Failure.badUsage(
        `Too many arguments: give the job URL (or service and job id) and at most one parameter`
      )
    const named = rest[0]
    const file = Option.getOrUndefined(input.output)
    const outSR = Option.getOrUndefined(input.outSR)
    const format: Written | undefined =
      Option.getOrUndefined(input.format) ??
      (input.geojson ? "geojson" : file === undefined ? undefined : fileFormatOf(file))
    if (file === undefined && format !== undefined && binary.has(format))
      return yield* Failure.badUsage(`--format ${format} is a binary file: write it with -o <file>`)
    const { client, ref } = yield* Session.connectToJob(input, job)
    let param = named
    if (param === undefined && (format !== undefined || file !== undefined)) {
      // One parameter is what a file or GeoJSON can hold: take the job's only result, or say which there are.
      const doc = yield* client.job(ref)
      const names = Object.keys(doc.results ?? {})
      if (names.length !== 1)
        return yield* Failure.badUsage(
          `Name the result parameter to ${format === "geojson" ? "convert" : "write"}: ${names.length === 0 ? "the job has no results" : names.join(", ")}`
        )
      param = names[0]
    }
    if (param === undefined) {
      const values = yield* client.results(ref, undefined, { outSR })
      if (out.mode === "json") return out.json(values)
      return printValues(out, values as ReadonlyArray<Value>)
    }
    const name = param
    // The value itself (as Esri JSON, or GeoJSON), or a GPDataFile result's file, downloaded.
    const valueOrFile = (geojson: boolean) =>
      Effect.gen(function* () {
        // GeoJSON as the bytes the server sends: a value that is no feature set comes back as it is (a GPString's
        // text), which the client's FeatureCollection check would refuse.
        const value: unknown = geojson
          ? yield* Effect.flatMap(client.resultFile(ref, name, "geojson"), (bytes) =>
              Effect.try({
                try: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
                catch: () => Failure.make(`The server's GeoJSON of ${name} is not JSON`)
              })
            )
          : yield* client.results(ref, name, { outSR })
        // f=geojson answers a file result's value alone ({url}); json its parameter document.
        const fileUrl = urlOf(geojson ? value : (value as Value).value)
        return fileUrl === undefined ? { value, bytes: undefined } : { value, bytes: yield* client.download(fileUrl) }
      })
    if (format !== undefined && format !== "json" && format !== "geojson") {
      // A file the server writes; a result that is no feature set (a GPDataFile: its own file) is refused with a 400.
      const bytes = yield* client.resultFile(ref, name, format, { outSR }).pipe(
        Effect.catchIf(
          (e): e is ClientError => e instanceof ClientError && e.kind === "server" && e.code === 400,
          (refused) =>
            Effect.flatMap(valueOrFile(false), (got) =>
              got.bytes === undefined ? Effect.fail(refused) : Effect.succeed(got.bytes)
            )
        )
      )
      if (file === undefined) return out.line(new TextDecoder().decode(bytes).replace(/\n$/, ""))
      yield* writeOut(file, bytes)
      if (out.mode === "json") out.json({ paramName: name, file, format, bytes: bytes.length })
      else out.note(`Wrote ${name} to ${file} (${format}, ${bytes.length} bytes)`)
      return
    }
    const geojson = format === "geojson"
    const got = yield* valueOrFile(geojson)
    if (file !== undefined) {
      const data = got.bytes ?? `${JSON.stringify(geojson ? got.value : (got.value as Value).value, null, 2)}\n`
      yield* writeOut(file, data)
      if (out.mode === "json") out.json({ paramName: name, file, bytes: data.length })
      else out.note(`Wrote ${name} to ${file} (${data.length} bytes)`)
      return
    }
    if (out.mode === "json" || geojson) return out.json(got.value)
    const v = (got.value as Value).value
    out.line(
      typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v, null, 2)
    )
  })
).pipe(
  Command.withDescription(
    "Print a job's results: all of them, or one parameter's value (--geojson; -o file, a feature set in the format its extension names)"
  ),
  Command.withExamples([
    { command: "geojobs results <job-url>", description: "Every result parameter" },
    {
      command: "geojobs results <job-url> Output_Features -o buffers.gpkg",
      description: "A feature set as a GeoPackage (.zip shapefile, .csv, .kml, .kmz, .geojson too)"
    },
    {
      command: "geojobs results <job-url> output_features --geojson -o out.geojson",
      description: "As GeoJSON, to a file"
    },
    {
      command: "geojobs results <job-url> Output_Features --format json -o features.json",
      description: "As Esri JSON, the value as the server keeps it"
    }
  ])
)
