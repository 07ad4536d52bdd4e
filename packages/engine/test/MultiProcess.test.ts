import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Entropy, Job, JobStatus, JobStore, ServiceRef } from "@geojobs/core"
import { SqliteJobStore } from "@geojobs/store-sqlite"
import { Effect, Layer } from "effect"
import { tempDir } from "./support/Harness.ts"
import { fencedFiles } from "./support/TestTools.ts"

const script = new URL("./support/EngineProcess.ts", import.meta.url).pathname

/** Starts an engine process and waits for its "ready". */
const startEngine = (dataDir: string, workers = 2, nodeName = "", leaseMs = 2000) =>
  Effect.promise(
    () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(process.execPath, [script, dataDir, String(workers), nodeName, String(leaseMs)], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        let err = ""
        child.stderr?.on("data", (d) => {
          err += String(d)
        })
        child.stdout?.on("data", (d) => {
          if (String(d).includes("ready")) resolve(child)
        })
        child.on("exit", (code) => reject(new Error(`engine process exited with ${code}: ${err}`)))
      })
  )

const stop = (child: ChildProcess, signal: NodeJS.Signals) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once("exit", () => resolve())
        child.kill(signal)
      })
  )

const ref = (name: string): ServiceRef.ServiceRef => ({
  folder: "Test",
  name,
  type: "GPServer",
  serviceId: ServiceRef.deriveServiceId("Test", name)
})

const submit = (name: string, task: string, inputs: Record<string, unknown>) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const job = yield* Job.make({
      service: ref(name),
      task,
      user: "analyst",
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, value]) => [k, { dataType: "GPString", value }]))
    })
    return yield* store.create(job)
  })

const waitUntil = (check: Effect.Effect<boolean, unknown, JobStore.JobStore>, timeoutMs: number, what: string) =>
  Effect.gen(function* () {
    const until = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out: ${what}`))
      yield* Effect.sleep(50)
    }
  })

const storeAt = (dataDir: string) =>
  Layer.mergeAll(SqliteJobStore.layer({ filename: join(dataDir, "jobs.sqlite") }), Entropy.Entropy.layer)

describe("several engine processes on one database file", () => {
  it.live(
    "two processes claim 300 jobs between them and no job is ever claimed twice",
    () => {
      const dataDir = tempDir()
      const log = join(dataDir, "runs.log")
      writeFileSync(log, "")
      return Effect.gen(function* () {
        const ids: Array<string> = []
        for (let i = 0; i < 300; i++) ids.push((yield* submit("Multi", "record", { log, ms: 20 })).id)
        const [a, b] = yield* Effect.all([startEngine(dataDir), startEngine(dataDir)], { concurrency: 2 })
        const store = yield* JobStore.JobStore
        yield* waitUntil(
          Effect.map(store.query({ statuses: ["Succeeded"], number: 1 }), (p) => p.total === 300),
          60_000,
          "all 300 jobs succeeded"
        )
        yield* stop(a, "SIGTERM")
        yield* stop(b, "SIGTERM")
        const runs = readFileSync(log, "utf8").trim().split("\n")
        const perJob = new Map<string, number>()
        const pids = new Set<string>()
        for (const line of runs) {
          const [id, pid] = line.split(" ")
          perJob.set(id ?? "", (perJob.get(id ?? "") ?? 0) + 1)
          pids.add(pid ?? "")
        }
        assert.strictEqual(runs.length, 300, "one run per job")
        assert.deepStrictEqual(
          [...perJob.values()].filter((n) => n !== 1),
          []
        )
        assert.deepStrictEqual([...perJob.keys()].sort(), [...ids].sort())
        assert.isAtLeast(pids.size, 2, "both processes ran jobs")
      }).pipe(Effect.provide(storeAt(dataDir)))
    },
    90_000
  )

  it.live(
    "SIGKILL mid-job, restart: the interrupted job fails, a retryable one runs again, queued ones run, nothing is lost",
    () => {
      const dataDir = tempDir()
      return Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const plain = yield* submit("Multi", "nap", { ms: 30_000 })
        const retry = yield* submit("Retry", "nap", { ms: 1500 })
        // One node, restarted: the same node name, another process (and pid).
        const first = yield* startEngine(dataDir, 2, "gis-node-1")
        yield* waitUntil(
          Effect.map(store.query({ statuses: ["Executing"], number: 1 }), (p) => p.total === 2),
          20_000,
          "both jobs executing"
        )
        const queued = [
          yield* submit("Multi", "echo", { text: "a" }),
          yield* submit("Multi", "echo", { text: "b" }),
          yield* submit("Multi", "echo", { text: "c" })
        ]
        yield* stop(first, "SIGKILL")
        const all = [plain, retry, ...queued]
        // The dead process left its jobs Executing; nothing changes them until an engine starts again.
        assert.strictEqual((yield* store.get(plain.id)).status, "Executing")
        const second = yield* startEngine(dataDir, 2, "gis-node-1")
        yield* waitUntil(
          Effect.map(
            Effect.forEach(all, (j) => store.get(j.id)),
            (jobs) => jobs.every((j) => JobStatus.isTerminal(j.status))
          ),
          30_000,
          "every job finished after the restart"
        )
        yield* stop(second, "SIGTERM")
        const failed = yield* store.get(plain.id)
        assert.strictEqual(failed.status, "Failed")
        assert.isTrue(failed.messages.some((m) => m.description === "interrupted by server restart"))
        const rerun = yield* store.get(retry.id)
        assert.strictEqual(rerun.status, "Succeeded")
        assert.isTrue(
          rerun.messages.some((m) => m.description === "interrupted by server restart; queued again (attempt 1 of 3)")
        )
        for (const q of queued) assert.strictEqual((yield* store.get(q.id)).status, "Succeeded")
        assert.strictEqual((yield* store.query({})).total, all.length, "no acknowledged job was lost")
      }).pipe(Effect.provide(storeAt(dataDir)))
    },
    90_000
  )

  it.live(
    "a node paused past its lease (SIGSTOP, SIGCONT): another takes its jobs over, nothing the paused node writes lands, its tools stop",
    () => {
      const dataDir = tempDir()
      const { log, gate, lines } = fencedFiles(dataDir)
      const has = (what: string, id: string, pid: number | undefined) =>
        lines().some(([w, j, p]) => w === what && j === id && p.startsWith(`${pid}/`))
      return Effect.gen(function* () {
        const store = yield* JobStore.JobStore
        const retry = yield* submit("Fence", "fencedRetry", { log, gate })
        const plain = yield* submit("Fence", "fenced", { log, gate })
        const a = yield* startEngine(dataDir, 2, "node-a", 1000)
        yield* waitUntil(
          Effect.map(
            Effect.forEach([retry, plain], (j) => store.get(j.id)),
            (jobs) => jobs.every((j) => j.status === "Executing" && j.progress !== null)
          ),
          10_000,
          "both jobs executing on node-a, with progress"
        )
        a.kill("SIGSTOP")
        const b = yield* startEngine(dataDir, 2, "node-b", 1000)
        // node-b takes the plain job over as Failed, and runs the retryable one again (up to the gate).
        yield* waitUntil(
          Effect.map(store.get(plain.id), (j) => j.status === "Failed"),
          10_000,
          "the plain job failed by the takeover"
        )
        yield* waitUntil(
          Effect.sync(() => has("start", retry.id, b.pid)),
          10_000,
          "the retryable job running again on node-b"
        )
        const failed = yield* store.get(plain.id)
        assert.strictEqual(failed.messages.at(-1)?.description, "interrupted: node node-a stopped responding")
        const requeue = (yield* store.get(retry.id)).messages.find((m) => m.description.includes("queued again"))
        assert.strictEqual(
          requeue?.description,
          "interrupted: node node-a stopped responding; queued again (attempt 1 of 3)"
        )
        // node-a wakes up: its lease lapsed, so it stops both tools and writes nothing for them.
        a.kill("SIGCONT")
        yield* waitUntil(
          Effect.sync(() => has("abort", retry.id, a.pid) && has("abort", plain.id, a.pid)),
          10_000,
          "node-a's tools stopped"
        )
        writeFileSync(gate, "")
        const done = yield* Effect.gen(function* () {
          yield* waitUntil(
            Effect.map(store.get(retry.id), (j) => JobStatus.isTerminal(j.status)),
            10_000,
            "the retryable job finished on node-b"
          )
          return yield* store.get(retry.id)
        })
        yield* stop(b, "SIGTERM")
        yield* stop(a, "SIGTERM")
        assert.strictEqual(done.status, "Succeeded")
        assert.match(String(done.results.who?.value), new RegExp(`^${b.pid}/`), "node-b's result")
        // Nothing of node-a after the takeover: no tick of its tool past the requeue message, the plain job unchanged.
        const afterTakeover = done.messages.slice(
          done.messages.findIndex((m) => m.description.includes("queued again"))
        )
        assert.isFalse(
          afterTakeover.some((m) => m.description.startsWith(`tick ${a.pid}/`)),
          "a tick of node-a landed"
        )
        assert.deepStrictEqual(yield* store.get(plain.id), failed, "node-a wrote over the Failed job")
        assert.isFalse(has("end", retry.id, a.pid) || has("end", plain.id, a.pid), "a tool of node-a ran to its end")
        assert.strictEqual(lines().filter(([w, j]) => w === "end" && j === retry.id).length, 1, "one end of the run")
        assert.isTrue(existsSync(gate))
      }).pipe(Effect.provide(storeAt(dataDir)))
    },
    60_000
  )
})
