#!/usr/bin/env node
/**
 * The `geojobs` executable: runs the command tree on Node's services, prints a failure as one line on stderr (with a
 * hint for a refused token), and exits with the code `Failure` chose — 0 when all went well, 130 on Ctrl-C.
 *
 * @module
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ClientError } from "@geojobs/client"
import { Cause, Effect, Exit } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import pc from "picocolors"
import pkg from "../package.json" with { type: "json" }
import { root } from "./Commands.ts"
import * as Failure from "./Failure.ts"
import { colorEnabled } from "./Output.ts"
import { ProfileError } from "./Profile.ts"

const say = (text: string) => {
  const { red } = pc.createColors(colorEnabled(process.stderr.isTTY === true))
  process.stderr.write(`${red("geojobs:")} ${text}\n`)
}

/** The exit code of a failure, having printed its line. */
const report = (error: unknown): number => {
  if (error instanceof Failure.Failure) {
    say(error.message)
    return error.exitCode
  }
  if (error instanceof ClientError) {
    say(error.kind === "token" ? `${error.message}. Sign in again: geojobs login <server-url>` : error.message)
    return Failure.error
  }
  if (error instanceof ProfileError) {
    say(error.message)
    return Failure.error
  }
  // The presenter below has printed the parse error; bare `geojobs` (help, no error) is not a failure.
  if (CliError.isCliError(error)) return error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : Failure.usage
  say(error instanceof Error ? error.message : String(error))
  return Failure.error
}

// A command line that cannot be parsed gets one line on stderr naming the problem and where help is, not the whole
// help page (which would land on stdout, in the user's pipe).
const presenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.sync(() =>
          say(`${event.errors.map((e) => e.message).join("; ")}. See \`${event.commandPath.join(" ")} --help\``)
        )
      : CliOutput.defaultPresenter.present(event)
})

const program = Command.run(root, { version: pkg.version }).pipe(
  Effect.as(0),
  Effect.catch((error: unknown) => Effect.sync(() => report(error))),
  Effect.provide([NodeServices.layer, presenter])
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) onExit(exit.value as number)
    else if (Cause.hasInterruptsOnly(exit.cause)) onExit(130)
    else {
      say(Cause.pretty(exit.cause))
      onExit(Failure.error)
    }
  }
})
