/**
 * `{"url":"https://…"}` inputs (arcgis-api.md §5.3): the file a `GPDataFile` names by URL, fetched by the server into
 * the job's folder before the tool runs — http(s) only, within a size limit and a time limit, following at most a few
 * redirects. No server-side request forgery: an address that is private, loopback, link-local, unique-local,
 * multicast or otherwise not public is refused — checked on the addresses the name resolves to, in the lookup the
 * connection itself uses (so a name cannot resolve to a public address for the check and a private one for the
 * connection), and again on every redirect — unless its host is one the administrator allows.
 *
 * @module
 */
import { createWriteStream } from "node:fs"
import { rm } from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import { Data, Effect } from "effect"
import * as UrlGuard from "./UrlGuard.ts"

/**
 * How URL inputs are fetched.
 *
 * @category models
 */
export interface Settings {
  /**
   * Hosts (names or addresses, compared without case) fetched even when they are or resolve to addresses that are not
   * public: the intranet servers an administrator trusts.
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** The largest file (default 100 MB). */
  readonly maxBytes?: number | undefined
  /** The whole download, redirects included (default 60 000 ms). */
  readonly timeoutMs?: number | undefined
}

/** @category models */
export const defaults = { maxBytes: 100 * 1024 * 1024, timeoutMs: 60_000, maxRedirects: 3 } as const

/**
 * Why a URL input is not fetched (or could not be).
 *
 * @category errors
 */
export class UrlRefused extends Data.TaggedError("UrlRefused")<{ readonly url: string; readonly reason: string }> {
  override get message(): string {
    return `${this.url} cannot be fetched: ${this.reason}`
  }
}

// The address rules are `UrlGuard`'s, the same as for callbacks.

/**
 * What is wrong with a URL input before any request: not http(s), credentials in it, or a literal address that is not
 * public (names are checked when they resolve). `undefined` when it may be fetched.
 *
 * @category guards
 */
export const urlProblem = (text: string, settings: Settings = {}): string | undefined =>
  UrlGuard.problem(text, settings.allowedHosts ?? [])

const request = (url: URL, settings: Settings, signal: AbortSignal) =>
  new Promise<http.IncomingMessage>((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http
    const req = client.get(
      url,
      {
        lookup: UrlGuard.lookup(url, settings.allowedHosts ?? []) as never,
        signal,
        headers: { "user-agent": "GeoJobs", accept: "*/*" }
      },
      resolve
    )
    req.on("error", reject)
  })

const extensions: Readonly<Record<string, string>> = {
  "application/zip": ".zip",
  "application/x-zip-compressed": ".zip",
  "application/geo+json": ".geojson",
  "application/json": ".json",
  "text/csv": ".csv",
  "application/vnd.google-earth.kml+xml": ".kml",
  "application/vnd.google-earth.kmz": ".kmz",
  "application/geopackage+sqlite3": ".gpkg"
}

/** The file's name: the URL's last segment, else the disposition's, else `download` with the type's extension. */
const fileNameOf = (url: URL, response: http.IncomingMessage): string => {
  const last = decodeURIComponent(url.pathname.split("/").pop() ?? "")
  if (/\.[A-Za-z0-9]{1,8}$/.test(last)) return last
  const disposition = /filename="?([^";]+)"?/i.exec(String(response.headers["content-disposition"] ?? ""))?.[1]
  if (disposition !== undefined && disposition.trim() !== "") return disposition.trim()
  const type = String(response.headers["content-type"] ?? "")
    .split(";")[0]
    ?.trim()
    .toLowerCase()
  return `${last === "" ? "download" : last}${extensions[type ?? ""] ?? ""}`
}

/**
 * Fetches a URL input into `target(fileName)` (a path the caller picks once the file's name is known); answers the
 * file's name and size, or why it was not fetched (a partial file is removed).
 *
 * @category constructors
 */
export const fetchTo = (
  text: string,
  target: (fileName: string) => Promise<string>,
  settings: Settings = {}
): Effect.Effect<{ readonly fileName: string; readonly bytes: number }, UrlRefused> =>
  Effect.tryPromise({
    try: async () => {
      const maxBytes = settings.maxBytes ?? defaults.maxBytes
      const signal = AbortSignal.timeout(settings.timeoutMs ?? defaults.timeoutMs)
      let url = new URL(text)
      for (let redirects = 0; ; redirects++) {
        const problem = urlProblem(url.href, settings)
        if (problem !== undefined) throw new UrlRefused({ url: text, reason: problem })
        const response = await request(url, settings, signal)
        const status = response.statusCode ?? 0
        if (status >= 300 && status < 400 && response.headers.location !== undefined) {
          response.resume()
          if (redirects >= defaults.maxRedirects) {
            throw new UrlRefused({ url: text, reason: `more than ${defaults.maxRedirects} redirects` })
          }
          url = new URL(response.headers.location, url)
          continue
        }
        if (status < 200 || status >= 300) {
          response.resume()
          throw new UrlRefused({ url: text, reason: `the server answered HTTP ${status}` })
        }
        const tooLarge = () =>
          new UrlRefused({ url: text, reason: `the file is larger than ${Math.round(maxBytes / 1048576)} MB` })
        if (Number(response.headers["content-length"] ?? 0) > maxBytes) {
          response.destroy()
          throw tooLarge()
        }
        const fileName = fileNameOf(url, response)
        const path = await target(fileName)
        let bytes = 0
        const out = createWriteStream(path)
        try {
          for await (const chunk of response as AsyncIterable<Buffer>) {
            bytes += chunk.length
            if (bytes > maxBytes) throw tooLarge()
            if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
          }
          await new Promise<void>((resolve, reject) =>
            out.end((error?: Error | null) => (error ? reject(error) : resolve()))
          )
        } catch (error) {
          response.destroy()
          out.destroy()
          await rm(path, { force: true })
          throw error
        }
        return { fileName, bytes }
      }
    },
    catch: (cause) => {
      if (cause instanceof UrlRefused) return cause
      const error = cause as { readonly name?: string; readonly message?: string; readonly code?: string }
      const reason =
        error.name === "TimeoutError" || error.name === "AbortError"
          ? `it took longer than ${Math.round((settings.timeoutMs ?? defaults.timeoutMs) / 1000)} s`
          : (error.message ?? String(cause))
      return new UrlRefused({ url: text, reason })
    }
  })
