/**
 * Signing in and out: `login` asks the server for a token (generateToken) and saves it in a profile, `logout` forgets
 * one. The password is read from stdin, `$GEOJOBS_PASSWORD` or a hidden prompt, and never saved.
 *
 * @module
 */
import { make as connectClient } from "@geojobs/client"
import { Effect, Option, Redacted } from "effect"
import { Argument, Command, Flag, Prompt } from "effect/cli"
import * as Failure from "./Failure.ts"
import * as Output from "./Output.ts"
import * as Profile from "./Profile.ts"
import * as Session from "./Session.ts"

const readStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array))
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "")
  },
  catch: (e) => Failure.make(`Cannot read the password from stdin: ${(e as Error).message}`)
})

/** `geojobs login <server-url>`: sign in and save the token. */
export const login = Command.make(
  "login",
  {
    ...Output.flags,
    ...Session.flags,
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
      return yield* Failure.badUsage(`server-url must start with http:// or https://, got "${input.url}"`)
    const interactive = process.stdin.isTTY === true
    const username = Option.isSome(input.username)
      ? input.username.value
      : process.env.GEOJOBS_USERNAME !== undefined && process.env.GEOJOBS_USERNAME !== ""
        ? process.env.GEOJOBS_USERNAME
        : interactive
          ? yield* Prompt.run(Prompt.String({ message: "Username" }))
          : yield* Failure.badUsage("--username is required when stdin is not a terminal")
    const password = input.passwordStdin
      ? yield* readStdin
      : process.env.GEOJOBS_PASSWORD !== undefined
        ? process.env.GEOJOBS_PASSWORD
        : interactive
          ? Redacted.value(yield* Prompt.run(Prompt.Password({ message: "Password" })))
          : yield* Failure.badUsage(
              "No password: use --password-stdin or $GEOJOBS_PASSWORD when stdin is not a terminal"
            )
    const referer = Option.getOrUndefined(input.referer)
    const client = yield* connectClient({ url, username, password, expiration: input.expiration, referer })
    const name = Session.profileName(input)
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

/** `geojobs logout`: forget a saved sign-in. */
export const logout = Command.make(
  "logout",
  { ...Output.flags, ...Session.flags },
  Effect.fn(function* (input) {
    const out = Output.make({ json: input.json })
    const name = Session.profileName(input)
    const removed = yield* Profile.remove(name)
    if (out.mode === "json") out.json({ profile: name, removed })
    else out.line(removed ? `Signed out: removed profile ${name}` : `No profile ${name}; nothing to do`)
  })
).pipe(Command.withDescription("Forget a saved sign-in"))
