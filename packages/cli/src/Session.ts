/**
 * Which server a command talks to and with which token: `GEOJOBS_URL` / `GEOJOBS_TOKEN` (or `GEOJOBS_USERNAME` +
 * `GEOJOBS_PASSWORD`, signing in without saving anything, for scripts and CI), else the saved profile (`--profile`,
 * `GEOJOBS_PROFILE`, default `default`); a job URL given on the command line picks the server it belongs to. Also reads
 * the job a command names: a job URL, or a service and a job id. Owns the `--profile` flag every command takes, the
 * `<job>` argument, and `jobCommand`, the shape of a command about one job.
 *
 * @module
 */
import { type Client, ClientError, type JobRef, make } from "@geojobs/client"
import { ArcGISResource } from "@geojobs/core"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Profile from "./Profile.ts"

/** `--profile`, which every command takes: the saved sign-in to use. */
export const flags = {
  profile: Flag.String("profile").pipe(
    Flag.withDescription("Saved sign-in to use (default: $GEOJOBS_PROFILE or `default`)"),
    Flag.optional
  )
}

/** The connection flags every command takes, as parsed. @category models */
export interface Flags {
  readonly profile: Option.Option<string>
}

/** The `<job>` argument: a job URL, or the service and the job id. */
export const jobArgument = Argument.String("job").pipe(
  Argument.withDescription("The job: its URL, or the service (Folder/Name) and the job id"),
  Argument.variadic({ min: 1, max: 2 })
)

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === "" ? undefined : s)

/** The server part of a job or service URL (everything before `/rest/services/` or `/admin/services/`). */
export const baseOf = (url: string): string | undefined => ArcGISResource.baseOf(url)

const normalize = (url: string) => url.replace(/\/+$/, "")

/** The profile name in effect. */
export const profileName = (flags: Flags, env: NodeJS.ProcessEnv = process.env): string =>
  nonEmpty(Option.getOrUndefined(flags.profile)) ?? nonEmpty(env.GEOJOBS_PROFILE) ?? "default"

/**
 * A client for the server in effect (`forUrl`: the server a job URL on the command line belongs to).
 */
export const connect = (
  flags: Flags,
  forUrl?: string,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<Client, ClientError | Profile.ProfileError | Failure.Failure> =>
  Effect.gen(function* () {
    const file = yield* Profile.read()
    const name = profileName(flags, env)
    const named = file.profiles[name]
    const fromUrl = forUrl === undefined ? undefined : baseOf(forUrl)
    const url = fromUrl ?? nonEmpty(env.GEOJOBS_URL) ?? named?.url
    if (url === undefined) {
      return yield* Failure.make(
        Option.isNone(flags.profile)
          ? "Not signed in: run `geojobs login <server-url>` first (or set GEOJOBS_URL)"
          : `No profile "${name}": run \`geojobs login <server-url> --profile ${name}\``
      )
    }
    return yield* signIn(file, named, url, env, true)
  })

/**
 * A client for `url` with its saved sign-in (the named profile when it is for this URL, else any that is), or the
 * environment's token or credentials when `useEnv`.
 */
const signIn = (
  file: Profile.ConfigFile,
  named: Profile.Profile | undefined,
  url: string,
  env: NodeJS.ProcessEnv,
  useEnv: boolean,
  ogcUrl?: string
): Effect.Effect<Client, ClientError> =>
  Effect.gen(function* () {
    const saved =
      named !== undefined && normalize(named.url) === normalize(url)
        ? named
        : Object.values<Profile.Profile>(file.profiles).find((p) => normalize(p.url) === normalize(url))
    const token = useEnv ? nonEmpty(env.GEOJOBS_TOKEN) : undefined
    const username = useEnv ? nonEmpty(env.GEOJOBS_USERNAME) : undefined
    const password = useEnv ? env.GEOJOBS_PASSWORD : undefined
    const ogc = ogcUrl === undefined ? {} : { ogcUrl }
    if (token !== undefined) return yield* make({ url, token, ...ogc })
    if (username !== undefined && password !== undefined) return yield* make({ url, username, password, ...ogc })
    if (saved?.token !== undefined && saved.expires !== undefined && saved.expires <= Date.now()) {
      return yield* new ClientError({
        kind: "token",
        code: 498,
        detail: `The sign-in to ${saved.url} expired at ${new Date(saved.expires).toISOString()}`,
        details: []
      })
    }
    return yield* make({
      url,
      ...ogc,
      ...(saved?.token === undefined ? {} : { token: saved.token }),
      ...(saved?.expires === undefined ? {} : { expires: saved.expires }),
      ...(saved?.referer === undefined ? {} : { referer: saved.referer })
    })
  })

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/**
 * A client for OGC API – Processes. Without `ogcRoot`, the server in effect (as for every command) at its OGC root
 * (its origin with `/ogcapi`). With one (`https://host/ogcapi`), that root, signed in as the GeoJobs server of the same
 * origin is (`GEOJOBS_URL` or a saved profile); a root of another origin is called without a token, so none leaks.
 */
export const connectOgc = (
  flags: Flags,
  ogcRoot: string | undefined,
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<Client, ClientError | Profile.ProfileError | Failure.Failure> =>
  Effect.gen(function* () {
    if (ogcRoot === undefined) return yield* connect(flags, undefined, env)
    const origin = originOf(ogcRoot)
    if (origin === undefined) return yield* Failure.badUsage(`${ogcRoot} is not a URL (e.g. https://host/ogcapi)`)
    const file = yield* Profile.read()
    const named = file.profiles[profileName(flags, env)]
    const envUrl = nonEmpty(env.GEOJOBS_URL)
    if (envUrl !== undefined && originOf(envUrl) === origin)
      return yield* signIn(file, named, envUrl, env, true, ogcRoot)
    const home = [named, ...Object.values<Profile.Profile>(file.profiles)].find(
      (p) => p !== undefined && originOf(p.url) === origin
    )
    return yield* signIn(file, named, home?.url ?? ogcRoot, env, false, ogcRoot)
  })

/**
 * The job named by the command line: `<job-url>` or `<service> <job-id>` (service as `Folder/Name`).
 */
export const jobArgs = (
  args: ReadonlyArray<string>
): Effect.Effect<{ url?: string; service?: string; jobId?: string }, Failure.Failure> => {
  const [first, second] = args
  if (args.length === 1 && first !== undefined && baseOf(first) !== undefined) return Effect.succeed({ url: first })
  if (args.length === 2 && first !== undefined && second !== undefined)
    return Effect.succeed({ service: first, jobId: second })
  return Effect.fail(
    Failure.badUsage(
      `Name the job by its URL (…/rest/services/<folder>/<service>/GPServer/<task>/jobs/<id>) or by service and job id, e.g. \`System/Utilities j1a2b3…\`; got ${args.length === 0 ? "nothing" : `"${args.join(" ")}"`}`
    )
  )
}

/** The job's part of a command line that names a job and then more (`<job-url> x` or `<service> <id> x`), and the rest. */
export const splitJobArgs = (
  args: ReadonlyArray<string>
): { readonly job: ReadonlyArray<string>; readonly rest: ReadonlyArray<string> } => {
  const at = baseOf(args[0] ?? "") === undefined ? 2 : 1
  return { job: args.slice(0, at), rest: args.slice(at) }
}

/** A client and the job reference for a command's job arguments. */
export const connectToJob = (
  flags: Flags,
  args: ReadonlyArray<string>
): Effect.Effect<{ client: Client; ref: JobRef }, ClientError | Profile.ProfileError | Failure.Failure> =>
  Effect.gen(function* () {
    const named = yield* jobArgs(args)
    const client = yield* connect(flags, named.url)
    const ref =
      named.url !== undefined
        ? yield* client.parseJobUrl(named.url)
        : client.jobRef(named.service ?? "", undefined, named.jobId ?? "")
    return { client, ref }
  })

/** What a command about one job works with: its output, a client for the job's server, and the job. @category models */
export interface JobSession {
  readonly out: Output.Output
  readonly client: Client
  readonly ref: JobRef
}

/**
 * A command about one job (`<job-url>` or `<service> <job-id>`) with the flags every command takes, and `config`'s
 * after them: `run` gets what those parsed to and the job's session.
 */
export const jobCommand = <Name extends string, const Config extends Command.Command.Config, E, R>(
  name: Name,
  config: Config,
  run: (options: Command.Command.Config.InferValue<Config>, job: JobSession) => Effect.Effect<void, E, R>
) =>
  Command.make(
    name,
    // `config` nested rather than spread: a spread of a generic config would hide the shared flags' types. The parser
    // flattens it, so the command line and its help are the same.
    { ...Output.flags, ...flags, job: jobArgument, options: config },
    Effect.fn(function* (input) {
      const out = Output.make({ json: input.json })
      const { client, ref } = yield* connectToJob(input, input.job)
      yield* run(input.options, { out, client, ref })
    })
  )
