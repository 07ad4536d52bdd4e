/**
 * The admin API's commands, for administrators: `jobs` (query jobs across services, newest first), `delete`, `purge`
 * (cancel a service's queue), `stats` (job counts per service) and `service` (stop or start a service). Owns how `--since` reads a duration or a date.
 *
 * @module
 */
import type { Client } from "@geojobs/client"
import { JobStatus } from "@geojobs/core"
import { Effect, Option, Stream } from "effect"
import { Argument, Command, Flag, Prompt } from "effect/cli"
import * as Directory from "./Directory.ts"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Session from "./Session.ts"

const time = (seconds: number | undefined | null) =>
  seconds === undefined || seconds === null || seconds <= 0
    ? ""
    : new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z")

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

// The service a command names, else every GP service on the server.
const servicesOf = (client: Client, service: Option.Option<string>) =>
  Option.isSome(service)
    ? Effect.succeed([service.value])
    : Effect.map(Directory.allServices(client), (all) => all.filter((s) => s.type === "GPServer").map((s) => s.name))

/** `geojobs jobs [-s service] [--status s,…] [--user u] [--since 2h|date] [--limit n]`. */
export const jobs = Command.make(
  "jobs",
  {
    ...Output.flags,
    ...Session.flags,
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
    if (input.limit < 1) return yield* Failure.badUsage(`--limit must be 1 or more, got ${input.limit}`)
    const statuses = Option.isSome(input.status)
      ? input.status.value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : []
    const unknownStatus = statuses.find((s) => JobStatus.parse(s) === undefined)
    if (unknownStatus !== undefined)
      return yield* Failure.badUsage(`--status "${unknownStatus}" is not a job status (${JobStatus.all.join(", ")})`)
    const since = Option.isSome(input.since) ? parseSince(input.since.value) : undefined
    if (Option.isSome(input.since) && since === undefined)
      return yield* Failure.badUsage(`--since "${input.since.value}" is neither a duration (30m, 2h, 7d) nor a date`)
    const client = yield* Session.connect(input)
    const serviceNames = yield* servicesOf(client, input.service)
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
    out.note(Output.count(rows.length, "job"))
  })
).pipe(
  Command.withDescription("Query jobs through the admin API (needs an administrator), newest first"),
  Command.withExamples([
    { command: "geojobs jobs --status failed,timedout --since 1d", description: "What went wrong today" },
    { command: "geojobs jobs -s System/Utilities --user analyst --json", description: "One user's jobs as JSON" }
  ])
)

/** `geojobs delete <job>`. */
export const deleteJob = Session.jobCommand("delete", {}, (_, { out, client, ref }) =>
  Effect.gen(function* () {
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

/** `geojobs purge <service> [--yes]`. */
export const purge = Command.make(
  "purge",
  {
    ...Output.flags,
    ...Session.flags,
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
        return yield* Failure.badUsage(`purge cancels every queued job of ${input.service}: add --yes to confirm`)
      const sure = yield* Prompt.run(
        Prompt.Confirm({ message: `Cancel every queued job of ${input.service}?`, initial: false })
      )
      if (!sure) return yield* Failure.make("Nothing purged")
    }
    const client = yield* Session.connect(input)
    yield* client.admin.purgeQueue(input.service)
    if (out.mode === "json") return out.json({ service: input.service, purged: true })
    out.line(`Purged the queue of ${input.service}`)
  })
).pipe(Command.withDescription("Cancel every queued (not yet running) job of a service (admin API)"))

/** `geojobs stats [service]`. */
export const stats = Command.make(
  "stats",
  {
    ...Output.flags,
    ...Session.flags,
    service: Argument.String("service").pipe(
      Argument.withDescription("Folder/Name (default: every GP service)"),
      Argument.optional
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(input)
    const names = yield* servicesOf(client, input.service)
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

/** `geojobs service <service> stop|start`. */
export const service = Command.make(
  "service",
  {
    ...Output.flags,
    ...Session.flags,
    service: Argument.String("service").pipe(Argument.withDescription("Folder/Name")),
    action: Argument.Literals("action", ["stop", "start"]).pipe(
      Argument.withDescription("stop: the service takes no new jobs (running ones finish); start: it takes them again")
    )
  },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const client = yield* Session.connect(input)
    yield* client.admin.setServiceStatus(input.service, input.action)
    const status = input.action === "stop" ? "STOPPED" : "STARTED"
    if (out.mode === "json") return out.json({ service: input.service, status })
    out.line(
      input.action === "stop"
        ? `Stopped ${input.service}: it takes no new jobs; running jobs finish`
        : `Started ${input.service}: it takes new jobs`
    )
  })
).pipe(
  Command.withDescription("Stop or start a service (admin API; needs an administrator)"),
  Command.withExamples([
    { command: "geojobs service System/Utilities stop", description: "Refuse new jobs while maintaining it" },
    { command: "geojobs service System/Utilities start", description: "Take jobs again" }
  ])
)
