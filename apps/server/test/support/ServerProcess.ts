/**
 * The real server as a child process, started as a newcomer would (`node src/main.ts`), on a free port
 * (`GEOJOBS_PORT=0`), with its output kept for the test to read.
 */
import { type ChildProcess, spawn } from "node:child_process"

const main = new URL("../../src/main.ts", import.meta.url).pathname

/** A running server process. */
export interface ServerProcess {
  /** The URL it printed, with the context path (`http://127.0.0.1:<port>/arcgis`). */
  readonly base: string
  /** The origin of `base` (`/health` and `/metrics` live there). */
  readonly origin: string
  readonly child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  readonly output: () => string
  /** Waits until it has printed `text` (the banner's later lines may come in a later chunk than the first). */
  readonly waitForOutput: (text: string, timeoutMs?: number) => Promise<void>
  /** SIGTERM, and waits for it to exit. */
  readonly stop: () => Promise<void>
}

/**
 * Starts a server with `env` over this process's environment; resolves once it prints where it listens, rejects if it
 * exits first (with its output) or takes longer than `timeoutMs`.
 */
export const start = (env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> =>
  new Promise<ServerProcess>((resolve, reject) => {
    let output = ""
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, GEOJOBS_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once("exit", () => done())
        child.kill("SIGTERM")
      })
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    let started = false
    child.stdout?.on("data", (d) => {
      output += String(d)
      const match = /GeoJobs is listening on (\S+)/.exec(output)
      if (!started && match?.[1]) {
        started = true
        clearTimeout(timer)
        const base = match[1]
        const waitForOutput = async (text: string, timeoutMs = 5000) => {
          const deadline = Date.now() + timeoutMs
          while (!output.includes(text)) {
            if (Date.now() > deadline) throw new Error(`the server did not print ${JSON.stringify(text)}:\n${output}`)
            await new Promise((r) => setTimeout(r, 20))
          }
        }
        resolve({ base, origin: new URL(base).origin, child, output: () => output, waitForOutput, stop })
      }
    })
    child.stderr?.on("data", (d) => {
      output += String(d)
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (!started) reject(new Error(`server exited with ${code}:\n${output}`))
    })
  })

/** POSTs a form and answers the JSON. */
export const form = async (url: string, fields: Record<string, string>): Promise<Record<string, unknown>> => {
  const response = await fetch(url, { method: "POST", body: new URLSearchParams(fields) })
  return (await response.json()) as Record<string, unknown>
}

/**
 * Signs in as `admin` at a server's token URL (`client=requestip`, as a script on this machine would) and answers the
 * token; throws with the server's answer when there is none.
 */
export const signIn = async (server: { readonly base: string }, password: string): Promise<string> => {
  const answer = await form(`${server.base}/tokens/generateToken`, {
    username: "admin",
    password,
    client: "requestip",
    f: "json"
  })
  if (typeof answer.token !== "string") throw new Error(`no token: ${JSON.stringify(answer)}`)
  return answer.token
}

/** GETs JSON. */
export const get = async (url: string): Promise<Record<string, unknown>> =>
  (await (await fetch(url)).json()) as Record<string, unknown>
