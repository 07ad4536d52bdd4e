/**
 * How the CLI prints: tables and colour on a terminal, tab-separated lines without colour when piped (like `gh`, so
 * `cut` and `awk` work), and JSON with `--json`. Every command prints through one `Output`, so the three modes stay
 * consistent; errors and live progress go to stderr and never mix with data on stdout.
 *
 * @module
 */
import { JobStatus } from "@geojobs/core"
import Table from "cli-table3"
import { Flag } from "effect/cli"
import pc from "picocolors"

/** @category models */
export type Mode = "tty" | "plain" | "json"

/** Colour functions (identity when colour is off). @category models */
export type Colors = ReturnType<typeof pc.createColors>

/** A column of a table: its heading and how to read a row's cell. @category models */
export interface Column<Row> {
  readonly heading: string
  readonly cell: (row: Row) => string
}

/** @category models */
export interface Output {
  readonly mode: Mode
  /** Colours for stdout. */
  readonly color: Colors
  /** Colours for stderr (its own terminal check). */
  readonly errColor: Colors
  readonly line: (text: string) => void
  readonly json: (value: unknown) => void
  readonly table: <Row>(columns: ReadonlyArray<Column<Row>>, rows: ReadonlyArray<Row>) => void
  /** Label/value pairs, aligned on a terminal, `label<TAB>value` when piped. */
  readonly fields: (pairs: ReadonlyArray<readonly [string, string]>) => void
  /** A note for people (stderr), e.g. "3 jobs"; not printed in JSON mode. */
  readonly note: (text: string) => void
}

/** `--json`, which every command takes: print the server's documents as JSON. */
export const flags = {
  json: Flag.Boolean("json").pipe(
    Flag.withDefault(false),
    Flag.withDescription("Print JSON (the server's documents) instead of text")
  )
}

/** Whether colour is wanted on a stream: NO_COLOR and FORCE_COLOR win over the terminal check (no-color.org). */
export const colorEnabled = (isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean =>
  env.NO_COLOR !== undefined && env.NO_COLOR !== ""
    ? false
    : env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0"
      ? true
      : isTTY && env.TERM !== "dumb"

/** A status word as a server sends it (`esriJobSucceeded` or `Succeeded`) in the admin spelling; unknown ones as they are. */
export const statusWord = (word: string): string => JobStatus.parse(word) ?? word

/**
 * `text` (default: the status word) coloured by what the status means: green when the job has results, red for the
 * other final statuses, yellow while it is under way.
 */
export const paintStatus = (colors: Colors, word: string, text: string = word): string => {
  const status = JobStatus.parse(word)
  if (status === undefined) return text
  return JobStatus.hasResults(status)
    ? colors.green(text)
    : JobStatus.isTerminal(status)
      ? colors.red(text)
      : colors.yellow(text)
}

/** A count with its noun, `1 job` or `3 jobs`. */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

/** A value short enough for a table cell: text as it is, anything else as JSON, cut at 40 characters. */
export const compact = (value: unknown): string => {
  if (value === undefined || value === null || value === "") return ""
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 39)}…` : text
}

/** @category constructors */
export const make = (options: {
  readonly json: boolean
  readonly stdout?: NodeJS.WriteStream | undefined
  readonly stderr?: NodeJS.WriteStream | undefined
}): Output => {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const mode: Mode = options.json ? "json" : stdout.isTTY === true ? "tty" : "plain"
  const color = pc.createColors(mode !== "json" && colorEnabled(stdout.isTTY === true))
  const errColor = pc.createColors(colorEnabled(stderr.isTTY === true))
  const line = (text: string) => {
    stdout.write(`${text}\n`)
  }
  return {
    mode,
    color,
    errColor,
    line,
    json: (value) => line(JSON.stringify(value, null, 2)),
    table: (columns, rows) => {
      if (mode === "tty") {
        const table = new Table({
          head: columns.map((c) => color.bold(c.heading)),
          style: { head: [], border: [] },
          chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" }
        })
        for (const row of rows) table.push(columns.map((c) => c.cell(row)))
        line(table.toString())
      } else {
        for (const row of rows) line(columns.map((c) => c.cell(row).replace(/[\t\n]/g, " ")).join("\t"))
      }
    },
    fields: (pairs) => {
      if (mode === "tty") {
        const width = Math.max(0, ...pairs.map(([label]) => label.length))
        for (const [label, value] of pairs) line(`${color.dim(label.padEnd(width))}  ${value}`)
      } else {
        for (const [label, value] of pairs) line(`${label}\t${value.replace(/[\t\n]/g, " ")}`)
      }
    },
    note: (text) => {
      if (mode !== "json") stderr.write(`${errColor.dim(text)}\n`)
    }
  }
}
