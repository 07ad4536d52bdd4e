/**
 * HTTP at the socket level, for what fetch cannot send or hides: garbage bytes, half a header line, over-long request
 * lines, and the exact bytes of a HEAD answer.
 */
import { request } from "node:http"
import { connect } from "node:net"

export interface RawAnswer {
  /** Everything the server wrote before it closed the socket (or before `waitMs` ran out). */
  readonly text: string
  /** Whether the server closed the socket. */
  readonly closed: boolean
}

/** Writes `bytes` to a fresh socket and collects the answer until the server closes it or `waitMs` passes. */
export const raw = (port: number, bytes: string | Buffer, waitMs = 5_000): Promise<RawAnswer> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    const socket = connect(port, "127.0.0.1")
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false })
    }, waitMs)
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true })
    })
    socket.write(bytes)
  })

/** The status line's code of a raw answer. */
export const statusOf = (answer: RawAnswer): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.text)?.[1] ?? 0)

/** The JSON body of a raw answer (after the blank line). */
export const bodyOf = (answer: RawAnswer): string => answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4)

/** A HEAD request through node:http: status, headers, and every body byte the server sent. */
export const head = (
  url: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; headers: Record<string, unknown>; bodyBytes: number }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: "HEAD", headers }, (res) => {
      let bodyBytes = 0
      res.on("data", (chunk: Buffer) => {
        bodyBytes += chunk.length
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyBytes }))
    })
    req.on("error", reject)
    req.end()
  })
