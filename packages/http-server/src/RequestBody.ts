/**
 * Request bodies — forms (`application/x-www-form-urlencoded`, what ArcGIS clients POST) and JSON — parsed without
 * holding the event loop.
 * A 3 MB submission is ~80 ms of decoding and depth-scanning in one step (issue 10's load bench profile:
 * `fast-querystring` parse, `decodeURIComponent` and the JSON depth scan were a fifth of the main thread's time while
 * 20 such jobs were submitted); a big body is parsed in a worker thread, which also checks how deeply each field's JSON
 * nests (`ArcGISRequest.vouchDepth`), and only the field strings come back. Small bodies, most requests, are parsed
 * inline: a thread hop costs more than they do.
 *
 * @module
 */
import * as SidePool from "@geojobs/engine/SidePool"
import { parse } from "fast-querystring"
import type { FastifyInstance, FastifyRequest } from "fastify"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import type { Parsed, Task } from "./RequestBodyWorker.ts"

/**
 * Bodies from this size on are parsed in the worker thread (64 KiB: a few ms inline).
 *
 * @category models
 */
export const offThreadBytes = 64 * 1024

type Done = (error: Error | null, body?: unknown) => void

const workerUrl = new URL(`./RequestBodyWorker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url).href

/**
 * Registers the body parsers (forms and JSON) on `app`; its thread pool starts on the first big body, idles out, and is destroyed
 * when the app closes.
 *
 * @category constructors
 */
export const register = (app: FastifyInstance): void => {
  const pool = SidePool.make<Task, Parsed>(workerUrl)
  const offThread = (kind: Task["kind"], request: FastifyRequest, body: Buffer, done: Done) => {
    // The body's memory moves to the thread instead of being copied when the body owns all of it (a big body does:
    // Fastify concatenates its chunks into a buffer of its own).
    const owned =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer
    pool.run({ kind, body }, owned ? { transferList: [body.buffer as ArrayBuffer] } : {}).then(
      (parsed) => {
        if (parsed.invalid !== undefined) {
          done(Object.assign(new Error(`Body is not valid JSON: ${parsed.invalid}`), { statusCode: 400 }), undefined)
          return
        }
        ArcGISRequest.vouchDepth(request, new Set(Object.keys(parsed.fields)), parsed.deep)
        done(null, parsed.fields)
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error)), undefined)
    )
  }
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "buffer" },
    (request, body: Buffer, done) => {
      if (body.length < offThreadBytes) done(null, parse(body.toString()))
      else offThread("form", request, body, done)
    }
  )
  // Small JSON bodies go to Fastify's own parser (its errors and prototype-poisoning checks); big ones to the thread,
  // which applies the same checks with the same library.
  const json = app.getDefaultJsonParser("error", "error")
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body: Buffer, done) => {
    if (body.length < offThreadBytes) json(request, body.toString(), done)
    else offThread("json", request, body, done)
  })
  app.addHook("onClose", async () => {
    await pool.destroy()
  })
}
