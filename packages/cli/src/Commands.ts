/**
 * The `geojobs` command tree (effect/cli): login, logout, services, task, submit, job, watch, results, cancel, jobs.
 * Each command reads its flags, talks to the server through `@geojobs/client`, and prints through `Output`; failures
 * travel as tagged errors to `main`, which prints one line and picks the exit code.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs"
import { type Client, type ClientError, make as connectClient, type JobRef } from "@geojobs/client"
import { JobStatus } from "@geojobs/core"
import { Effect, Option, Redacted, Stream } from "effect"
import { Argument, Command, Flag, Prompt } from "effect/cli"
import { Failure } from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Profile from "./Profile.ts"
import * as Session from "./Session.ts"
import * as Watch from "./Watch.ts"

const json = Flag.Boolean("json").pipe(
  Flag.withDefault(false),
  Flag.withDescription("Print JSON (the server's documents) instead of text")
)
const profile = Flag.String("profile").pipe(
  Flag.withDescription("Saved sign-in to use (default: $GEOJOBS_PROFILE or `default`)"),
  Flag.optional
)
const common = { json, profile }
const flagsOf = (input: { readonly profile: Option.Option<string> }): Session.Flags => ({
  profile: Option.getOrUndefined(input.profile)
})
const jobArgument = Argument.String("job").pipe(
  Argument.withDescription("The job: its URL, or the service (Folder/Name) and the job id"),
  Argument.variadic({ min: 1, max: 2 })
)

const usage = (message: string) => new Failure({ message, exitCode: 2 })

const time = (seconds: number | undefined | null) =>
  seconds === undefined || seconds === null || seconds <= 0
    ? ""
    : new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z")

// ---------------------------------------------------------------------------------------------------------------- login

const readStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array))
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "")
  },
  catch: (e) => new Failure({ message: `Cannot read the password from stdin: ${(e as Error).message}`, exitCode: 1 })
})

const login = Command.make(
  "login",
  {
    ...common,
    url: Argument.String("server-url").pipe(
      Argument.withDescription("The server with its context path, e.g. https://gis.example.com/arcgis")
    ),
    username: Flag.String("username").pipe(
      Flag.withAlias("u"),
      Flag.withDescription("Username (asked for when missing on a terminal)"),
      Flag.optional
    ),
    passwordStdin: Flag.Boolean("password-stdin").pipe(
      Flag.withDefault(false),
      Flag.withDescription("Read the password from stdin (else $GEOJOBS_PASSWORD, else asked for on a terminal)")
    ),
    expiration: Flag.Int("expiration").pipe(
      Flag.withDescription("Token lifetime in minutes (the server caps it; default 14 days)"),
      Flag.withDefault(20_160)
    ),
    referer: Flag.String("referer").pipe(
      Flag.withDescription("Bind the token to this referer instead of this machine's address"),
      Flag.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const url = input.url.replace(/\/+$/, "")
    if (!/^https?:\/\/[^/]+/.test(url))
      return yield* usage(`server-url must start with http:// or https://, got "${input.url}"`)
    const interactive = process.stdin.isTTY === true
    const username = Option.isSome(input.username)
      ? input.username.value
      : process.env.GEOJOBS_USERNAME !== undefined && process.env.GEOJOBS_USERNAME !== ""
        ? process.env.GEOJOBS_USERNAME
        : interactive
          ? yield* Prompt.run(Prompt.String({ message: "Username" }))
          : yield* usage("--username is required when stdin is not a terminal")
    const password = input.passwordStdin
      ? yield* readStdin
      : process.env.GEOJOBS_PASSWORD !== undefined
        ? process.env.GEOJOBS_PASSWORD
        : interactive
          ? Redacted.value(yield* Prompt.run(Prompt.Password({ message: "Password" })))
          : yield* usage("No password: use --password-stdin or $GEOJOBS_PASSWORD when stdin is not a terminal")
    const referer = Option.getOrUndefined(input.referer)
    const client = yield* connectClient({ url, username, password, expiration: input.expiration, referer })
    const name = Session.profileName(flagsOf(input))
    const saved: Profile.Profile = {
      url,
      username,
      ...(client.token() === undefined ? {} : { token: client.token() }),
      ...(client.tokenExpires() === undefined ? {} : { expires: client.tokenExpires() }),
      ...(referer === undefined ? {} : { referer })
    }
    const path = Profile.configPath()
    yield* Profile.save(name, saved, path)
    const expires = client.tokenExpires()
    if (out.mode === "json") out.json({ profile: name, url, username, expires, configPath: path })
    else
      out.fields([
        ["signed in", `${username} at ${url}`],
        ["profile", name],
        ["expires", expires === undefined ? "" : new Date(expires).toISOString()],
        ["saved to", path]
      ])
  })
).pipe(
  Command.withDescription("Sign in to a server and save the token (0600) in your config folder"),
  Command.withExamples([
    { command: "geojobs login http://127.0.0.1:6080/arcgis -u admin", description: "Asks for the password" },
    {
      command: 'printf %s "$PASS" | geojobs login https://gis.example.com/arcgis -u analyst --password-stdin',
      description: "In scripts"
    }
  ])
)

const logout = Command.make(
  "logout",
  { ...common },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const name = Session.profileName(flagsOf(input))
    const removed = yield* Profile.remove(name)
    if (out.mode === "json") out.json({ profile: name, removed })
    else out.line(removed ? `Signed out: removed profile ${name}` : `No profile ${name}; nothing to do`)
  })
).pipe(Command.withDescription("Forget a saved sign-in"))

// -------------------------------------------------------------------------------------------------------- services/task

// The root lists folders; read each so one command sees every service.
const allServices = (client: Client) =>
  Effect.gen(function* () {
    const root = yield* client.services()
    const folders = yield* Effect.forEach(root.folders, (f) => client.services(f), { concurrency: 4 })
    return [...root.services, ...folders.flatMap((f) => f.services)]
  })

const services = Command.make(
  "services",
  {
    ...common,
    folder: Argument.String("folder").pipe(Argument.withDescription("Only this folder"), Argument.optional)
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(flagsOf(input))
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
    out.note(`${rows.length} service${rows.length === 1 ? "" : "s"}`)
  })
).pipe(
  Command.withDescription("List services (every folder, or one)"),
  Command.withExamples([{ command: "geojobs services System", description: "The services in folder System" }])
)

const choiceList = (p: Record<string, unknown>) => (Array.isArray(p.choiceList) ? p.choiceList.join(", ") : "")
const compact = (value: unknown) => {
  if (value === undefined || value === null || value === "") return ""
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 39)}…` : text
}

const task = Command.make(
  "task",
  {
    ...common,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    task: Argument.String("task").pipe(
      Argument.withDescription("Task name (omit to list the service's tasks)"),
      Argument.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(flagsOf(input))
    if (Option.isNone(input.task)) {
      const doc = yield* client.service(input.service)
      if (out.mode === "json") return out.json(doc)
      out.fields([
        ["service", input.service],
        ["execution", doc.executionType.replace(/^esriExecutionType/, "")],
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
      ...(typeof doc.executionType === "string"
        ? [["execution", doc.executionType.replace(/^esriExecutionType/, "")] as const]
        : [])
    ])
    type P = (typeof doc.parameters)[number]
    out.line("")
    out.table<P>(
      [
        { heading: "PARAMETER", cell: (p) => p.name },
        { heading: "DIRECTION", cell: (p) => p.direction.replace(/^esriGPParameterDirection/, "") },
        { heading: "TYPE", cell: (p) => p.dataType },
        { heading: "REQUIRED", cell: (p) => (p.parameterType === "esriGPParameterTypeRequired" ? "yes" : "no") },
        { heading: "DEFAULT", cell: (p) => compact(p.defaultValue) },
        { heading: "CHOICES", cell: (p) => choiceList(p) }
      ],
      doc.parameters
    )
  })
).pipe(
  Command.withDescription("Describe a task: its parameters, types, defaults and choices (or a service's tasks)"),
  Command.withExamples([{ command: "geojobs task Analysis/Geometry Buffer", description: "Buffer's parameters" }])
)

// --------------------------------------------------------------------------------------------------------------- submit

const readParamsFile = (path: string) =>
  Effect.gen(function* () {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (e) {
      return yield* usage(`--params-file ${path}: ${(e as Error).message}`)
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (e) {
      return yield* usage(`--params-file ${path} is not JSON: ${(e as Error).message}`)
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      return yield* usage(`--params-file ${path} must hold a JSON object of parameter names and values`)
    return doc as Record<string, unknown>
  })

/**
 * `name=value` pairs; the value is sent as written (GP text: literals, JSON, comma lists, or empty). `name=@path` sends
 * the file's text (an Esri JSON or GeoJSON feature set, say); `@@` starts a value that really begins with `@`.
 */
export const parseParams = (pairs: ReadonlyArray<string>): Effect.Effect<Record<string, string>, Failure> =>
  Effect.gen(function* () {
    const params: Record<string, string> = {}
    for (const pair of pairs) {
      const at = pair.indexOf("=")
      if (at <= 0) return yield* usage(`--param "${pair}" is not name=value`)
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (value.startsWith("@@")) params[name] = value.slice(1)
      else if (value.startsWith("@")) {
        try {
          params[name] = readFileSync(value.slice(1), "utf8")
        } catch (e) {
          return yield* usage(
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

const submit = Command.make(
  "submit",
  {
    ...common,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    task: Argument.String("task"),
    param: Flag.String("param").pipe(
      Flag.withAlias("p"),
      Flag.withDescription(
        "A parameter as name=value, or name=@file to send a file's text (repeat; overrides --params-file)"
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
    const params = { ...fromFile, ...(yield* parseParams(input.param)) }
    const client = yield* Session.connect(flagsOf(input))
    const [service, description] = yield* Effect.all(
      [client.service(input.service), client.task(input.service, input.task)],
      { concurrency: 2 }
    )
    const known = new Set(
      description.parameters.filter((p) => p.direction !== "esriGPParameterDirectionOutput").map((p) => p.name)
    )
    const unknown = Object.keys(params).filter((k) => !known.has(k) && !gpOptions.has(k))
    if (unknown.length > 0)
      return yield* usage(
        `${input.service}/${input.task} has no input parameter ${unknown.map((u) => `"${u}"`).join(", ")}; its parameters are ${[...known].join(", ")}`
      )
    if (service.executionType === "esriExecutionTypeSynchronous") {
      // A synchronous service has no jobs: run it and print the results at once.
      const answer = yield* client.execute(input.service, input.task, params)
      if (out.mode === "json") return out.json(answer)
      for (const m of answer.messages) process.stderr.write(`${Watch.messageLine(m, out.errColor)}\n`)
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

// ------------------------------------------------------------------------------------------------ job/watch/cancel

const job = Command.make(
  "job",
  {
    ...common,
    job: jobArgument,
    admin: Flag.Boolean("admin").pipe(
      Flag.withDefault(false),
      Flag.withDescription("The admin API's job document (job_id, status, times, user; needs an administrator)")
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, ref } = yield* Session.connectToJob(flagsOf(input), input.job)
    if (input.admin) {
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

const watch = Command.make(
  "watch",
  { ...common, job: jobArgument },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, ref } = yield* Session.connectToJob(flagsOf(input), input.job)
    yield* Watch.follow(client, ref, out)
  })
).pipe(
  Command.withDescription(
    "Follow a job with a live progress bar and its messages; exit 0 when it succeeds, 15 Failed, 16 TimedOut, 18 Cancelled"
  )
)

const cancel = Command.make(
  "cancel",
  { ...common, job: jobArgument },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, ref } = yield* Session.connectToJob(flagsOf(input), input.job)
    const answer = yield* client.cancel(ref)
    if (out.mode === "json") return out.json(answer)
    out.fields([
      ["job", answer.jobId],
      ["status", Output.statusWord(answer.jobStatus)]
    ])
  })
).pipe(Command.withDescription("Cancel a job (queued jobs at once; running ones after the tool stops)"))

// -------------------------------------------------------------------------------------------------------------- results

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
    return `${features.length} feature${features.length === 1 ? "" : "s"}${type === undefined ? "" : ` (${type.replace(/^esriGeometry/, "")})`}`
  }
  return urlOf(value) ?? compact(value)
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
    catch: (e) => new Failure({ message: `Cannot write ${path}: ${(e as Error).message}`, exitCode: 1 })
  })

const results = Command.make(
  "results",
  {
    ...common,
    args: Argument.String("job [param]").pipe(
      Argument.withDescription("The job (URL, or service and job id), then optionally one result parameter"),
      Argument.variadic({ min: 1, max: 3 })
    ),
    geojson: Flag.Boolean("geojson").pipe(
      Flag.withDefault(false),
      Flag.withDescription("A feature set result as a GeoJSON FeatureCollection")
    ),
    output: Flag.String("output").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Write to this file (a file result is downloaded)"),
      Flag.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { job, rest } = Session.splitJobArgs(input.args)
    if (rest.length > 1)
      return yield* usage(`Too many arguments: give the job URL (or service and job id) and at most one parameter`)
    const named = rest[0]
    const { client, ref } = yield* Session.connectToJob(flagsOf(input), job)
    const file = Option.getOrUndefined(input.output)
    let param = named
    if (param === undefined && (input.geojson || file !== undefined)) {
      // One parameter is what a file or GeoJSON can hold: take the job's only result, or say which there are.
      const doc = yield* client.job(ref)
      const names = Object.keys(doc.results ?? {})
      if (names.length !== 1)
        return yield* usage(
          `Name the result parameter to ${input.geojson ? "convert" : "write"}: ${names.length === 0 ? "the job has no results" : names.join(", ")}`
        )
      param = names[0]
    }
    if (param === undefined) {
      const values = yield* client.results(ref)
      if (out.mode === "json") return out.json(values)
      return printValues(out, values as ReadonlyArray<Value>)
    }
    const value = yield* client.results(ref, param, { geojson: input.geojson })
    const fileUrl = input.geojson ? undefined : urlOf((value as Value).value)
    if (file !== undefined) {
      const data =
        fileUrl !== undefined
          ? yield* client.download(fileUrl)
          : `${JSON.stringify(input.geojson ? value : (value as Value).value, null, 2)}\n`
      yield* writeOut(file, data)
      if (out.mode === "json") out.json({ paramName: param, file, bytes: data.length })
      else out.note(`Wrote ${param} to ${file} (${data.length} bytes)`)
      return
    }
    if (out.mode === "json" || input.geojson) return out.json(value)
    const v = (value as Value).value
    out.line(
      typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v, null, 2)
    )
  })
).pipe(
  Command.withDescription("Print a job's results: all of them, or one parameter's value (--geojson, -o file)"),
  Command.withExamples([
    { command: "geojobs results <job-url>", description: "Every result parameter" },
    {
      command: "geojobs results <job-url> output_features --geojson -o out.geojson",
      description: "As GeoJSON, to a file"
    }
  ])
)

// ----------------------------------------------------------------------------------------------------------------- jobs

/** `--since`: a duration back from now (`30m`, `2h`, `7d`) or a date; as ms since the epoch. */
export const parseSince = (text: string, now: number = Date.now()): number | undefined => {
  const relative = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(text.trim())
  if (relative !== null) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
      (relative[2] ?? "s").toLowerCase() as "s" | "m" | "h" | "d" | "w"
    ]
    return now - Number(relative[1]) * unit
  }
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : date
}

const gpServices = (client: Client): Effect.Effect<ReadonlyArray<string>, ClientError> =>
  Effect.map(allServices(client), (all) => all.filter((s) => s.type === "GPServer").map((s) => s.name))

const jobs = Command.make(
  "jobs",
  {
    ...common,
    service: Flag.String("service").pipe(
      Flag.withAlias("s"),
      Flag.withDescription("Folder/Name (default: every GP service)"),
      Flag.optional
    ),
    status: Flag.String("status").pipe(
      Flag.withDescription("Only jobs in these statuses, comma-separated (e.g. failed,timedout)"),
      Flag.optional
    ),
    user: Flag.String("user").pipe(Flag.withDescription("Only this user's jobs"), Flag.optional),
    since: Flag.String("since").pipe(Flag.withDescription("Created since: 30m, 2h, 7d or a date"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many jobs"), Flag.withDefault(50))
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    if (input.limit < 1) return yield* usage(`--limit must be 1 or more, got ${input.limit}`)
    const statuses = Option.isSome(input.status)
      ? input.status.value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : []
    const unknownStatus = statuses.find((s) => JobStatus.parse(s) === undefined)
    if (unknownStatus !== undefined)
      return yield* usage(`--status "${unknownStatus}" is not a job status (${JobStatus.all.join(", ")})`)
    const since = Option.isSome(input.since) ? parseSince(input.since.value) : undefined
    if (Option.isSome(input.since) && since === undefined)
      return yield* usage(`--since "${input.since.value}" is neither a duration (30m, 2h, 7d) nor a date`)
    const client = yield* Session.connect(flagsOf(input))
    const serviceNames = Option.isSome(input.service) ? [input.service.value] : yield* gpServices(client)
    const query = {
      ...(statuses.length === 0
        ? {}
        : { jobStatus: statuses.map((s) => JobStatus.restName(JobStatus.parse(s) ?? "New")).join(",") }),
      ...(Option.isSome(input.user) ? { userName: input.user.value } : {}),
      ...(since === undefined ? {} : { startTime: since }),
      number: Math.min(input.limit, 1000)
    }
    // Each service's newest first, then merged: the first `limit` of all.
    const pages = yield* Effect.forEach(
      serviceNames,
      (service) =>
        Stream.paginate(1, (start: number) =>
          Effect.map(
            client.admin.page(service, { ...query, start }),
            (page) =>
              [
                page.results.map((j) => ({ ...j, service })),
                page.nextStart > 0 ? Option.some(page.nextStart) : Option.none()
              ] as const
          )
        ).pipe(Stream.take(input.limit), Stream.runCollect),
      { concurrency: 4 }
    )
    const rows = pages
      .flat()
      .sort((a, b) => b.job_created - a.job_created)
      .slice(0, input.limit)
    if (out.mode === "json") return out.json(rows)
    type Row = (typeof rows)[number]
    out.table<Row>(
      [
        { heading: "JOB", cell: (j) => j.job_id },
        { heading: "SERVICE", cell: (j) => j.service },
        { heading: "STATUS", cell: (j) => Output.paintStatus(out.color, j.status) },
        { heading: "USER", cell: (j) => j.username ?? "" },
        { heading: "CREATED", cell: (j) => time(j.job_created) },
        {
          heading: "TOOK",
          cell: (j) =>
            j.job_execution_start !== null && j.job_execution_end !== null
              ? `${Math.max(0, j.job_execution_end - j.job_execution_start)} s`
              : ""
        }
      ],
      rows
    )
    out.note(`${rows.length} job${rows.length === 1 ? "" : "s"}`)
  })
).pipe(
  Command.withDescription("Query jobs through the admin API (needs an administrator), newest first"),
  Command.withExamples([
    { command: "geojobs jobs --status failed,timedout --since 1d", description: "What went wrong today" },
    { command: "geojobs jobs -s System/Utilities --user analyst --json", description: "One user's jobs as JSON" }
  ])
)

// ------------------------------------------------------------------------------------------------- delete/purge/stats

const deleteJob = Command.make(
  "delete",
  { ...common, job: jobArgument },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const { client, ref } = yield* Session.connectToJob(flagsOf(input), input.job)
    yield* client.admin.delete(ref.service, ref.jobId)
    if (out.mode === "json") return out.json({ jobId: ref.jobId, service: ref.service, deleted: true })
    out.fields([
      ["job", ref.jobId],
      ["status", "Deleted"]
    ])
  })
).pipe(
  Command.withDescription("Delete a job, its inputs, results and files (admin API; a running job is cancelled first)")
)

const purge = Command.make(
  "purge",
  {
    ...common,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    yes: Flag.Boolean("yes").pipe(
      Flag.withDefault(false),
      Flag.withAlias("y"),
      Flag.withDescription("Do it without asking (required when stdin is not a terminal)")
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    if (!input.yes) {
      if (process.stdin.isTTY !== true)
        return yield* usage(`purge cancels every queued job of ${input.service}: add --yes to confirm`)
      const sure = yield* Prompt.run(
        Prompt.Confirm({ message: `Cancel every queued job of ${input.service}?`, initial: false })
      )
      if (!sure) return yield* new Failure({ message: "Nothing purged", exitCode: 1 })
    }
    const client = yield* Session.connect(flagsOf(input))
    yield* client.admin.purgeQueue(input.service)
    if (out.mode === "json") return out.json({ service: input.service, purged: true })
    out.line(`Purged the queue of ${input.service}`)
  })
).pipe(Command.withDescription("Cancel every queued (not yet running) job of a service (admin API)"))

const stats = Command.make(
  "stats",
  {
    ...common,
    service: Argument.String("service").pipe(
      Argument.withDescription("Folder/Name (default: every GP service)"),
      Argument.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(flagsOf(input))
    const names = Option.isSome(input.service) ? [input.service.value] : yield* gpServices(client)
    const rows = yield* Effect.forEach(
      names,
      (service) => Effect.map(client.admin.statistics(service), (s) => ({ service, ...s })),
      { concurrency: 4 }
    )
    if (out.mode === "json") return out.json(rows)
    type Row = (typeof rows)[number]
    out.table<Row>(
      [
        { heading: "SERVICE", cell: (r) => r.service },
        { heading: "TOTAL", cell: (r) => String(r.total) },
        { heading: "SUCCEEDED", cell: (r) => out.color.green(String(r.succeeded)) },
        { heading: "FAILED", cell: (r) => (r.failed > 0 ? out.color.red(String(r.failed)) : "0") },
        { heading: "CANCELLED", cell: (r) => String(r.cancelled) }
      ],
      rows
    )
  })
).pipe(
  Command.withDescription("Job counts per service: total, succeeded, failed (incl. timed out), cancelled (admin API)")
)

// ----------------------------------------------------------------------------------------------------------------- root

/** The `geojobs` command. */
export const root = Command.make("geojobs").pipe(
  Command.withDescription("Run and follow geoprocessing jobs on a GeoJobs or ArcGIS server"),
  Command.withSubcommands([
    login,
    logout,
    services,
    task,
    submit,
    job,
    watch,
    results,
    cancel,
    jobs,
    deleteJob,
    purge,
    stats
  ])
)

export type { JobRef }
