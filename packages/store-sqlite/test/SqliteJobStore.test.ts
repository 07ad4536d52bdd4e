import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { EncodedValue, Entropy, Job, JobQueue, JobStore } from "@geojobs/core"
import { CallbackOutboxSuite, JobQueueSuite, JobStoreSuite, SampleJobs } from "@geojobs/core/testing"
import { Context, Effect, Layer } from "effect"
import * as SqliteJobStore from "../src/SqliteJobStore.ts"

const dir = mkdtempSync(join(tmpdir(), "geojobs-sqlite-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => SqliteJobStore.layer({ filename: join(dir, `store-${++n}.sqlite`) })

describe("SqliteJobStore passes the JobStore contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(JobStoreSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("SqliteJobStore passes the JobQueue contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(JobQueueSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("SqliteJobStore passes the CallbackOutbox contract (a real database file per case)", () => {
  for (const [name, test] of Object.entries(CallbackOutboxSuite.cases)) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(fresh(), Entropy.Entropy.layerSeeded(7)))))
  }
})

// Every value in a file of its own (the threshold at one character): the contracts hold just the same.
const allInFiles = () => SqliteJobStore.layer({ filename: join(dir, `store-${++n}.sqlite`), fileAboveChars: 1 })
describe("SqliteJobStore with every value in a file passes the JobStore and JobQueue contracts", () => {
  for (const [name, test] of [...Object.entries(JobStoreSuite.cases), ...Object.entries(JobQueueSuite.cases)]) {
    it.effect(name, () => test.pipe(Effect.provide(Layer.mergeAll(allInFiles(), Entropy.Entropy.layerSeeded(7)))))
  }
})

describe("SqliteJobStore keeps big values in files", () => {
  const big = (c: string) => ({ dataType: "GPString", value: c.repeat(300_000) })
  it.effect("a big value's text is in a file beside the database, read back on demand, gone with its job", () =>
    Effect.gen(function* () {
      const filename = join(dir, `files-${++n}.sqlite`)
      const valuesDir = `${filename}-values`
      const job = yield* SampleJobs.make("Submitted")
      const small = { dataType: "GPLong", value: 7 }
      yield* JobStore.JobStore.use((s) =>
        Effect.gen(function* () {
          yield* s.create({ ...job, inputs: { Text: big("a"), Count: small } })
          const rows = new DatabaseSync(filename, { readOnly: true })
            .prepare("SELECT name, length(json) AS n, file FROM job_values WHERE id = ? ORDER BY name")
            .all(job.id) as Array<{ name: string; n: number; file: string | null }>
          assert.deepStrictEqual(
            rows.map((r) => [r.name, r.n, r.file === null]),
            [
              ["Count", 1, true],
              ["Text", 0, false]
            ]
          )
          const file = join(valuesDir, rows[1]?.file ?? "?")
          assert.strictEqual(readFileSync(file, "utf8"), JSON.stringify("a".repeat(300_000)))
          const stored = yield* s.get(job.id)
          const text = stored.inputs.Text as Job.JobValue
          // Handed on as its file's path until something reads it; then the text, as written.
          assert.strictEqual(EncodedValue.fileOf(text), file)
          assert.deepStrictEqual(EncodedValue.encode(text), { dataType: "GPString", json: "", file })
          assert.strictEqual(text.value, "a".repeat(300_000))
          assert.strictEqual(stored.inputs.Count?.value, 7)
          // Results too, when they change; a progress update (same results) writes no file.
          const done = yield* s.update(stored.revision, { ...stored, status: "Executing", results: { Out: big("b") } })
          const again = yield* s.update(done.revision, {
            ...done,
            progress: { type: "step", percent: 50, message: "half" }
          })
          assert.lengthOf(readdirSync(join(valuesDir, job.id)), 2)
          assert.strictEqual((yield* s.get(again.id)).results.Out?.value, "b".repeat(300_000))
          yield* s.delete(job.id)
          assert.isFalse(existsSync(join(valuesDir, job.id)), "the job's folder of values is gone with it")
        })
      ).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(9)))
  )

  it.effect("a write that does not land leaves no file behind (a duplicate create, a stale update)", () =>
    Effect.gen(function* () {
      const filename = join(dir, `files-${++n}.sqlite`)
      const folder = (id: string) => join(`${filename}-values`, id)
      const job = yield* SampleJobs.make("Submitted")
      yield* JobStore.JobStore.use((s) =>
        Effect.gen(function* () {
          const created = yield* s.create({ ...job, inputs: { Text: big("a") } })
          const duplicate = yield* Effect.flip(s.create({ ...job, inputs: { Text: big("c") } }))
          assert.strictEqual(duplicate._tag, "DuplicateJob")
          assert.lengthOf(readdirSync(folder(job.id)), 1)
          const stale = yield* Effect.flip(
            s.update(created.revision + 5, { ...created, status: "Executing", results: { Out: big("b") } })
          )
          assert.strictEqual(stale._tag, "StaleRevision")
          assert.lengthOf(readdirSync(folder(job.id)), 1)
          assert.strictEqual((yield* s.get(job.id)).inputs.Text?.value, "a".repeat(300_000))
        })
      ).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(10)))
  )
})

describe("SqliteJobStore", () => {
  it.effect("keeps jobs across a close and reopen of the file", () =>
    Effect.gen(function* () {
      const filename = join(dir, "reopen.sqlite")
      const job = yield* SampleJobs.make("Executing")
      yield* JobStore.JobStore.use((s) => s.create(job)).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
      const again = yield* JobStore.JobStore.use((s) => s.get(job.id)).pipe(
        Effect.provide(SqliteJobStore.layer({ filename }))
      )
      assert.deepStrictEqual(again, job)
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(3)))
  )

  it.effect("two connections on one file see each other's claims: no job is claimed twice", () =>
    Effect.gen(function* () {
      const filename = join(dir, "shared.sqlite")
      const one = yield* Layer.build(SqliteJobStore.layer({ filename }))
      const two = yield* Layer.build(SqliteJobStore.layer({ filename }))
      const store = Context.get(one, JobStore.JobStore)
      for (let i = 0; i < 20; i++) {
        const job = yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null })
        yield* store.create({ ...job, created: 1000 + i })
      }
      const limits = [{ service: SampleJobs.service, max: 100 }]
      const claims = yield* Effect.all(
        [one, two, one, two].map((ctx, i) =>
          Context.get(ctx, JobQueue.JobQueue).claim({ owner: `e${i}`, max: 6, limits })
        ),
        { concurrency: "unbounded" }
      )
      const ids = claims.flat().map((c) => c.job.id)
      assert.strictEqual(new Set(ids).size, ids.length)
      assert.strictEqual(ids.length, 20)
    }).pipe(Effect.scoped, Effect.provide(Entropy.Entropy.layerSeeded(5)))
  )

  it.effect("a job's summary read again after any change: its own connection's, another connection's, a delete", () =>
    Effect.gen(function* () {
      // Summaries are remembered between polls (see getSummary): none may outlive a change made anywhere.
      const filename = join(dir, "summaries.sqlite")
      const one = Context.get(yield* Layer.build(SqliteJobStore.layer({ filename })), JobStore.JobStore)
      const two = Context.get(yield* Layer.build(SqliteJobStore.layer({ filename })), JobStore.JobStore)
      const created = yield* one.create(yield* Job.make({ service: SampleJobs.service, task: "Buffer", user: null }))
      const status = (store: JobStore.JobStoreShape) => Effect.map(store.getSummary(created.id), (s) => s.status)
      assert.strictEqual(yield* status(one), "Submitted")
      assert.strictEqual(yield* status(one), "Submitted", "read twice, nothing changed")
      // Another connection (another process on the data folder): seen by the next read on this one.
      const running = yield* two.update(created.revision, yield* Job.transition(created, "Executing"))
      assert.strictEqual(yield* status(one), "Executing")
      // This connection's own write.
      const done = yield* one.update(running.revision, yield* Job.transition(running, "Succeeded"))
      assert.strictEqual(yield* status(one), "Succeeded")
      assert.strictEqual((yield* one.getSummary(created.id)).revision, done.revision)
      // A delete elsewhere: the job is gone here too.
      yield* two.delete(created.id)
      assert.strictEqual((yield* Effect.flip(one.getSummary(created.id)))._tag, "NoSuchJob")
    }).pipe(Effect.scoped, Effect.provide(Entropy.Entropy.layerSeeded(11)))
  )

  it.effect("a file of the first schema (values inside the body) is migrated: values move to their own columns", () =>
    Effect.gen(function* () {
      const filename = join(dir, "schema-1.sqlite")
      const job = {
        ...(yield* SampleJobs.make("Succeeded")),
        inputs: { Distance: { dataType: "GPLinearUnit", value: { distance: 5, units: "esriMeters" } } },
        results: { Output: { dataType: "GPString", value: "done" } }
      }
      const old = new DatabaseSync(filename)
      old.exec(SqliteJobStore.migrations[0] ?? "")
      old.exec("PRAGMA user_version = 1")
      old
        .prepare(`INSERT INTO jobs (id, folder, name, service_id, task, status, user, created, started, ended, revision,
          expires, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          job.id,
          job.service.folder ?? null,
          job.service.name,
          job.service.serviceId,
          job.task,
          job.status,
          job.user,
          job.created,
          job.started,
          job.ended,
          job.revision,
          job.expires,
          JSON.stringify({ inputs: job.inputs, results: job.results, messages: job.messages, progress: job.progress })
        )
      old.close()
      const [full, summary] = yield* JobStore.JobStore.use((s) =>
        Effect.all([s.get(job.id), s.getSummary(job.id)])
      ).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
      assert.deepStrictEqual(full, job)
      assert.deepStrictEqual(summary, Job.summarize(job))
      const reopened = new DatabaseSync(filename)
      const row = reopened.prepare("SELECT body FROM jobs").get() as { body: string }
      reopened.close()
      assert.deepStrictEqual(Object.keys(JSON.parse(row.body)).sort(), ["messages", "progress"])
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(4)))
  )

  it.effect("parameter values live beside the job row, written once, and go with the job", () =>
    Effect.gen(function* () {
      const filename = join(dir, "values.sqlite")
      const job = {
        ...(yield* SampleJobs.make("Submitted")),
        inputs: { Text: { dataType: "GPString", value: "x".repeat(100_000) } }
      }
      const count = () => {
        const db = new DatabaseSync(filename)
        const row = db.prepare("SELECT count(*) AS n, coalesce(sum(length(json)), 0) AS bytes FROM job_values").get()
        const jobRow = db.prepare("SELECT coalesce(max(length(body)), 0) AS body FROM jobs").get()
        db.close()
        return { ...(row as { n: number; bytes: number }), jobBody: (jobRow as { body: number }).body }
      }
      yield* JobStore.JobStore.use((s) =>
        Effect.gen(function* () {
          const created = yield* s.create(job)
          const running = yield* s.update(created.revision, yield* Job.transition(created, "Executing"))
          yield* s.update(running.revision, Job.setProgress(running, 50, "Halfway"))
          const stored = count()
          assert.strictEqual(stored.n, 1, "one row: the one input (no results yet)")
          assert.isAbove(stored.bytes, 100_000)
          assert.isBelow(stored.jobBody, 1_000, "the job row holds no values")
          yield* s.delete(job.id)
          assert.strictEqual(count().n, 0, "a deleted job leaves no values behind")
        })
      ).pipe(Effect.provide(SqliteJobStore.layer({ filename })))
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(6)))
  )

  it.live("the write-ahead log is checkpointed by a background thread (the commits leave it to that thread)", () =>
    Effect.gen(function* () {
      const filename = join(dir, "checkpoint.sqlite")
      const size = yield* JobStore.JobStore.use(
        (s) =>
          Effect.gen(function* () {
            const job = yield* SampleJobs.make("Submitted")
            yield* s.create({ ...job, inputs: { Text: { dataType: "GPString", value: "x".repeat(6_000_000) } } })
            // The commit wrote the value to the log only (automatic checkpoints are off on the store's connection);
            // the database file grows when the checkpointer copies it over, while the store is still open.
            for (let i = 0; i < 50 && statSync(filename).size < 6_000_000; i++) yield* Effect.sleep("100 millis")
            return statSync(filename).size
          })
        // Kept in the database (not in a file of its own), to be checkpointed.
      ).pipe(Effect.provide(SqliteJobStore.layer({ filename, fileAboveChars: Number.POSITIVE_INFINITY })))
      assert.isAbove(size, 6_000_000, "the database file holds the value: checkpointed while open")
    }).pipe(Effect.provide(Entropy.Entropy.layerSeeded(8)))
  )

  it("closing the store completes in a process with nothing else to do (the checkpointer holds it until it exits)", () => {
    // A script whose only work is the store: open it, write, close it, then say so. With the checkpoint thread left
    // unreferenced while the close waited for it, Node found nothing left to run and ended the process first (exit
    // 13, "unsettled top-level await"), before the connection's final checkpoint and every layer after it.
    const filename = join(dir, "close-alone.sqlite")
    const script = `
      import { Effect } from "effect"
      import { JobStore } from "@geojobs/core"
      import { SampleJobs } from "@geojobs/core/testing"
      import { Entropy } from "@geojobs/core"
      const SqliteJobStore = await import(${JSON.stringify(new URL("../src/SqliteJobStore.ts", import.meta.url).href)})
      await Effect.runPromise(
        JobStore.JobStore.use((s) => Effect.flatMap(SampleJobs.make("Submitted"), (job) => s.create(job))).pipe(
          Effect.provide(SqliteJobStore.layer({ filename: ${JSON.stringify(filename)} })),
          Effect.provide(Entropy.Entropy.layerSeeded(9))
        )
      )
      console.log("closed")
    `
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url).pathname,
      encoding: "utf8",
      timeout: 60_000
    })
    assert.strictEqual(child.status, 0, child.stderr)
    assert.strictEqual(child.stdout.trim(), "closed")
    // The close checkpointed the log into the file and removed it.
    assert.isFalse(existsSync(`${filename}-wal`), "the write-ahead log is gone after the close")
  })

  it.effect("opening a path it cannot create fails with a JobStoreError naming the file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        JobStore.JobStore.use((s) => s.get("j0")).pipe(
          Effect.provide(SqliteJobStore.layer({ filename: "/etc/hostname/sub/x.sqlite" }))
        )
      )
      assert.strictEqual(error._tag, "JobStoreError")
      assert.include(error.message, "/etc/hostname/sub/x.sqlite")
    })
  )
})
