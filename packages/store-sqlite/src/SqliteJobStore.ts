/**
 * The durable job store and queue on `node:sqlite`: one database file in WAL mode, shared safely by several engine
 * processes. It provides core's `JobStore` and `JobQueue` (it passes both contract suites); a claim runs in one
 * `BEGIN IMMEDIATE` transaction, so no job is ever claimed twice, and writes are group-committed (see
 * `SqliteDatabase.groupCommit`). Each job row keeps its owner and its claim count; a write under a claim's fencing
 * token is one `UPDATE` guarded by both (core's `JobQueue.claimProblem` says why one was refused). Status lists in
 * the SQL come from core's status table. It also provides core's `CallbackOutbox`: the callback a status change makes
 * (core's `Callback.outgoing`) is written by that change's own write, in its transaction; deliverers claim due ones
 * under a lease in a `BEGIN IMMEDIATE` transaction, so with several processes on one file each is tried by one.
 *
 * @module
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { mkdir, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { SQLInputValue, SQLOutputValue } from "node:sqlite"
import {
  Callback,
  CallbackOutbox,
  EncodedValue,
  type Job,
  JobError,
  JobQueue,
  JobStatus,
  JobStore,
  type JobUrls
} from "@geojobs/core"
import { Clock, Context, Effect, Layer } from "effect"
import * as SqliteDatabase from "./SqliteDatabase.ts"

/**
 * Where and how to open the database, and where big values go.
 *
 * @category models
 */
export interface Options extends SqliteDatabase.Options {
  /**
   * The folder for values too big to keep in the database (a folder per job; default: the database's path with
   * `-values` appended; none for `:memory:`, which keeps every value inline). Nodes sharing the database share it.
   */
  readonly valuesDir?: string | undefined
  /** Values whose JSON text has at least this many characters go to a file (default 256 KiB). */
  readonly fileAboveChars?: number | undefined
}

/**
 * Values of at least this many characters are kept in files: on the 2026-12-03 load bench a 3 MB value took 9 ms to
 * insert and, read back to hand to a tool, 18 ms of the main thread per job (under load) — a file is written by
 * libuv's threads and read by the tool's worker itself. Below this, a row is cheaper than a file.
 */
const defaultFileAboveChars = 256 * 1024

/**
 * The migrations, in order (a file made by an older GeoJobs opens and is brought up to date).
 *
 * @category models
 */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE jobs (
     id TEXT NOT NULL UNIQUE,
     folder TEXT,
     name TEXT NOT NULL,
     service_id TEXT NOT NULL,
     task TEXT NOT NULL,
     status TEXT NOT NULL,
     user TEXT,
     created INTEGER NOT NULL,
     started INTEGER,
     ended INTEGER,
     revision INTEGER NOT NULL,
     expires INTEGER,
     owner TEXT,
     body TEXT NOT NULL
   );
   -- the admin query is always per service (by status, user and time window within it), newest first
   CREATE INDEX jobs_service_created ON jobs (name, folder, created);
   -- the dispatcher (claimable, oldest first), held jobs, and counts by status
   CREATE INDEX jobs_status_created ON jobs (status, created);
   -- the sweeper
   CREATE INDEX jobs_expires ON jobs (expires) WHERE expires IS NOT NULL;
   CREATE TABLE engines (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, seen INTEGER NOT NULL);`,
  // Parameter values in a table of their own, one row per value (issue 10): SQLite rewrites a whole row on every
  // UPDATE, overflow pages included, so values kept in the jobs row were rewritten on every status change and progress
  // message. Inputs are written once, at create; results when they change; `body` keeps only messages and progress.
  // Each value is kept as its JSON text, which the main thread passes on without decoding (core's `EncodedValue`).
  `CREATE TABLE job_values (
     id TEXT NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     ord INTEGER NOT NULL,
     data_type TEXT NOT NULL,
     json TEXT NOT NULL,
     PRIMARY KEY (id, kind, name)
   );
   ALTER TABLE jobs ADD COLUMN input_names TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE jobs ADD COLUMN result_names TEXT NOT NULL DEFAULT '[]';
   INSERT INTO job_values (id, kind, name, ord, data_type, json)
     SELECT jobs.id, kinds.kind, e.key, e.id, coalesce(e.value ->> '$.dataType', 'GPString'),
       coalesce(e.value -> '$.value', '')
     FROM jobs, (SELECT 'inputs' AS kind UNION ALL SELECT 'results') AS kinds,
       json_each(jobs.body, '$.' || kinds.kind) AS e;
   UPDATE jobs SET
     input_names = (SELECT coalesce(json_group_array(key), '[]') FROM json_each(jobs.body, '$.inputs')),
     result_names = (SELECT coalesce(json_group_array(key), '[]') FROM json_each(jobs.body, '$.results')),
     body = json_remove(body, '$.inputs', '$.results');`,
  // Leases and fencing (issue 11): a job's claim count (its attempts; with the owner, the fencing token of a run) and
  // each engine's node name. A held job's owner is looked up by `claimsOf` on every heartbeat.
  `ALTER TABLE jobs ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE engines ADD COLUMN node TEXT NOT NULL DEFAULT '';
   UPDATE jobs SET owner = NULL WHERE status NOT IN (${SqliteDatabase.literals(JobStatus.held)});
   CREATE INDEX jobs_owner ON jobs (owner) WHERE owner IS NOT NULL;`,
  // Big values in files (issue 10): `file` names a value's file inside the values folder (`json` is then empty).
  `ALTER TABLE job_values ADD COLUMN file TEXT;`,
  // OGC callbacks (issue 12): a job's subscriber (JSON, NULL for most jobs), and the outbox its status changes write
  // into in their own transactions, one row per job and event, claimed under a lease by the node delivering it.
  `ALTER TABLE jobs ADD COLUMN subscriber TEXT;
   CREATE TABLE callbacks (
     job_id TEXT NOT NULL,
     event TEXT NOT NULL,
     uri TEXT NOT NULL,
     body TEXT NOT NULL,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     created INTEGER NOT NULL,
     next_attempt INTEGER NOT NULL,
     delivered INTEGER,
     lease_owner TEXT,
     lease_until INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (job_id, event)
   );
   CREATE INDEX callbacks_due ON callbacks (next_attempt) WHERE status = 'pending';`
]

const storeError = (operation: string, cause: unknown) => new JobError.JobStoreError({ operation, cause })
const { ok, err } = SqliteDatabase

interface Row {
  readonly id: string
  readonly folder: string | null
  readonly name: string
  readonly service_id: string
  readonly task: string
  readonly status: string
  readonly user: string | null
  readonly created: number
  readonly started: number | null
  readonly ended: number | null
  readonly revision: number
  readonly expires: number | null
  readonly body: string
  readonly input_names: string
  readonly result_names: string
  readonly subscriber: string | null
}

/** The columns of a summary, in order, for statements answering arrays (read back with `rowOf`). */
const summaryColumns = [
  "id",
  "folder",
  "name",
  "service_id",
  "task",
  "status",
  "user",
  "created",
  "started",
  "ended",
  "revision",
  "expires",
  "body",
  "input_names",
  "result_names",
  "subscriber"
] as const
const summaryList = summaryColumns.join(", ")

const rowOf = (v: ReadonlyArray<SQLOutputValue>): Row => ({
  id: v[0] as string,
  folder: v[1] as string | null,
  name: v[2] as string,
  service_id: v[3] as string,
  task: v[4] as string,
  status: v[5] as string,
  user: v[6] as string | null,
  created: v[7] as number,
  started: v[8] as number | null,
  ended: v[9] as number | null,
  revision: v[10] as number,
  expires: v[11] as number | null,
  body: v[12] as string,
  input_names: v[13] as string,
  result_names: v[14] as string,
  subscriber: v[15] as string | null
})

interface Body {
  readonly messages: Job.Job["messages"]
  readonly progress: Job.Job["progress"]
}

const toSummary = (row: Row): Job.JobSummary => {
  const body = JSON.parse(row.body) as Body
  return {
    id: row.id,
    service:
      row.folder === null
        ? { name: row.name, type: "GPServer", serviceId: row.service_id }
        : { folder: row.folder, name: row.name, type: "GPServer", serviceId: row.service_id },
    task: row.task,
    status: row.status as JobStatus.JobStatus,
    user: row.user,
    created: row.created,
    started: row.started,
    ended: row.ended,
    revision: row.revision,
    messages: body.messages,
    progress: body.progress,
    expires: row.expires,
    inputNames: JSON.parse(row.input_names) as Array<string>,
    resultNames: JSON.parse(row.result_names) as Array<string>,
    ...(row.subscriber === null ? {} : { subscriber: JSON.parse(row.subscriber) as Callback.Subscriber })
  }
}

/**
 * Values objects known to be what the store holds for a job (read from it or written to it), to the job's id: values
 * are immutable and travel from one update to the next by reference (`{ ...job, … }`), so an update whose results are
 * the stored ones writes no values (issue 10's profile: rewriting multi-MB values on every update was the main thread's
 * largest cost under load).
 */
const storedResults = new WeakMap<object, string>()
const storedInputs = new WeakMap<object, string>()

interface ValueRow {
  readonly kind: string
  readonly name: string
  readonly data_type: string
  readonly json: string
  readonly file: string | null
}

/** A job's folder of value files: its id when that is a plain name (job ids are), else the id's bytes in hex. */
const folderOf = (id: string) => (/^[\w-]{1,80}$/.test(id) ? id : Buffer.from(id).toString("hex").slice(0, 200))

const headParams = (job: Job.Job): Record<string, SQLInputValue> => ({
  id: job.id,
  status: job.status,
  user: job.user,
  created: job.created,
  started: job.started,
  ended: job.ended,
  revision: job.revision,
  expires: job.expires,
  body: JSON.stringify({ messages: job.messages, progress: job.progress }),
  result_names: JSON.stringify(Object.keys(job.results))
})

const createParams = (job: Job.Job): Record<string, SQLInputValue> => ({
  ...headParams(job),
  folder: job.service.folder ?? null,
  name: job.service.name,
  service_id: job.service.serviceId,
  task: job.task,
  input_names: JSON.stringify(Object.keys(job.inputs)),
  subscriber: job.subscriber === undefined ? null : JSON.stringify(job.subscriber)
})

/** What may precede each status in an update, as JSON arrays for `json_each` (the status itself included). */
const allowedBefore = Object.fromEntries(
  JobStatus.all.map((s) => [s, JSON.stringify([s, ...JobStatus.predecessors(s)])])
) as Record<JobStatus.JobStatus, string>

const held = SqliteDatabase.literals(JobStatus.held)
const claimable = SqliteDatabase.literals(JobStatus.claimable)
const terminal = SqliteDatabase.literals(JobStatus.terminal)
const keyOf = (folder: string | null, name: string) => (folder === null ? name : `${folder}/${name}`)

const make = (db: import("node:sqlite").DatabaseSync, valuesDir: string | undefined, fileAboveChars: number) => {
  const write = SqliteDatabase.groupCommit(db, storeError)
  const run = SqliteDatabase.runner(storeError)
  const sql = SqliteDatabase.statements(db)

  const insert = sql(`INSERT INTO jobs (id, folder, name, service_id, task, status, user, created, started, ended,
    revision, expires, body, input_names, result_names, subscriber) VALUES ($id, $folder, $name, $service_id, $task,
    $status, $user, $created, $started, $ended, $revision, $expires, $body, $input_names, $result_names, $subscriber)`)
  // --- big values in files: written before the transaction that refers to them, by libuv's threads ---------------
  /** Values (by name) whose text was written to a file, to the file's name inside the values folder. */
  type Spilled = ReadonlyMap<string, string>
  const none: Spilled = new Map()
  const spill = (
    id: string,
    values: Readonly<Record<string, Job.JobValue>>
  ): Effect.Effect<Spilled, JobError.JobStoreError> => {
    if (valuesDir === undefined) return Effect.succeed(none)
    const big = Object.entries(values).flatMap(([name, value]) => {
      const text = EncodedValue.textOf(value)
      return text.length >= fileAboveChars ? [{ name, text }] : []
    })
    if (big.length === 0) return Effect.succeed(none)
    return Effect.tryPromise({
      try: async () => {
        const folder = folderOf(id)
        await mkdir(join(valuesDir, folder), { recursive: true })
        const spilled = new Map<string, string>()
        // A fresh name per write: a row refers to its file only once the file is whole, and a file is never rewritten.
        for (const { name, text } of big) {
          const file = `${folder}/${randomBytes(8).toString("hex")}.json`
          await writeFile(join(valuesDir, file), text)
          spilled.set(name, file)
        }
        return spilled
      },
      catch: (cause) => storeError(`write values of ${id}`, cause)
    })
  }
  /** Files written for a write that did not land. */
  const unspill = (spilled: ReadonlyArray<Spilled>) =>
    valuesDir === undefined || spilled.every((s) => s.size === 0)
      ? Effect.void
      : Effect.promise(() =>
          Promise.all(
            spilled.flatMap((s) => [...s.values()]).map((file) => rm(join(valuesDir, file), { force: true }))
          ).then(
            () => undefined,
            () => undefined
          )
        )
  /** `write` of work that refers to the files of `spilled`, which go again when it fails. */
  const writeSpilled = <A, E>(
    operation: string,
    spilled: ReadonlyArray<Spilled>,
    work: () => SqliteDatabase.Outcome<A, E>
  ): Effect.Effect<A, E | JobError.JobStoreError> => write(operation, work).pipe(Effect.onError(() => unspill(spilled)))

  /** The values of one kind, each decoded only when read; a value in a file is read only when needed. */
  const valuesFrom = (rows: ReadonlyArray<ValueRow>, kind: "inputs" | "results"): Record<string, Job.JobValue> => {
    const values: Record<string, Job.JobValue> = {}
    for (const v of rows) {
      if (v.kind !== kind) continue
      if (v.file === null || valuesDir === undefined) {
        values[v.name] = EncodedValue.lazy({ dataType: v.data_type, json: v.json })
      } else {
        const path = join(valuesDir, v.file)
        values[v.name] = EncodedValue.inFile(v.data_type, path, () => readFileSync(path, "utf8"))
      }
    }
    return values
  }
  const toJob = (row: Row, values: ReadonlyArray<ValueRow>): Job.Job => {
    const { inputNames: _i, resultNames: _r, ...summary } = toSummary(row)
    const inputs = valuesFrom(values, "inputs")
    const results = valuesFrom(values, "results")
    storedInputs.set(inputs, row.id)
    storedResults.set(results, row.id)
    return { ...summary, inputs, results }
  }

  const putValue = sql(
    `INSERT INTO job_values (id, kind, name, ord, data_type, json, file) VALUES (?, ?, ?, ?, ?, ?, ?)`
  )
  const putValues = (
    id: string,
    kind: "inputs" | "results",
    values: Readonly<Record<string, Job.JobValue>>,
    spilled: Spilled
  ) => {
    let ord = 0
    for (const [name, value] of Object.entries(values)) {
      const file = spilled.get(name)
      putValue.run(
        id,
        kind,
        name,
        ord++,
        value.dataType,
        file === undefined ? EncodedValue.textOf(value) : "",
        file ?? null
      )
    }
  }
  const removeValuesOf = sql("DELETE FROM job_values WHERE id = ? AND kind = ?")
  // A replaced value's file stays until the job goes (its folder with it): a reader may hold a value read before.
  const writeResults = (id: string, results: Job.Job["results"], spilled: Spilled) => {
    if (storedResults.get(results) === id) return
    removeValuesOf.run(id, "results")
    putValues(id, "results", results, spilled)
    storedResults.set(results, id)
  }
  /** Writes the files of `next`'s results when they are not the stored ones (so not at every progress update). */
  const spillResults = (next: Job.Job) =>
    storedResults.get(next.results) === next.id ? Effect.succeed(none) : spill(next.id, next.results)
  const valuesOf = sql("SELECT kind, name, data_type, json, file FROM job_values WHERE id = ? ORDER BY kind, ord")
  const inputsOf = sql(
    "SELECT kind, name, data_type, json, file FROM job_values WHERE id = ? AND kind = 'inputs' ORDER BY ord"
  )
  const full = (row: Row) => toJob(row, valuesOf.all(row.id) as unknown as ReadonlyArray<ValueRow>)
  // The hot read (every poll of a job) answers an array: node:sqlite builds a row object with named properties
  // slowly (about a third of this read's time, measured in the HTTP bench).
  const byId = db.prepare(`SELECT ${summaryList} FROM jobs WHERE id = ?`)
  byId.setReturnArrays(true)
  // Summaries (every poll of a job reads one) answered from memory while nothing has changed anywhere
  // (`SqliteDatabase.memo`): the read and decoding it saves was ~10 µs of a status read's ~80 µs of main-thread time
  // (profile of 2026-12-04, BENCHMARKS.md).
  const summaries = SqliteDatabase.memo<string, Job.JobSummary | undefined>(db, 10_000)
  const versionOf = sql("SELECT status, revision, owner, claims FROM jobs WHERE id = ?")
  // A job's id, service, task and inputs never change: the update does not write them. A job leaving the held
  // statuses forgets its owner (its claim is over); the claim count stays.
  const updateSet = `UPDATE jobs SET status = $status, user = $user, created = $created, started = $started,
    ended = $ended, revision = $revision, expires = $expires, body = $body, result_names = $result_names,
    owner = CASE WHEN $status IN (${held}) THEN owner ELSE NULL END
    WHERE id = $id AND revision = $expected AND status IN (SELECT value FROM json_each($allowed))`
  // The stored subscriber comes back: it decides the change's callback, whatever `next` holds.
  const update = sql(`${updateSet} RETURNING subscriber`)
  const updateFenced = sql(
    `${updateSet} AND status IN (${held}) AND owner = $owner AND claims = $claims RETURNING subscriber`
  )
  // --- the callback outbox: rows written by the job's own write, in its transaction ------------------------------
  const putCallback = sql(`INSERT INTO callbacks (job_id, event, uri, body, status, created, next_attempt)
    VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (job_id, event) DO NOTHING`)
  /** Writes the callback `job` (as written) sends, if any; at most one per job and event. */
  const writeCallback = (job: Job.Job, now: number) => {
    const out = Callback.outgoing(job)
    if (out !== undefined) putCallback.run(out.jobId, out.event, out.uri, out.body, now, now)
  }
  /** The job as written, with the stored subscriber (`returned`: the subscriber column of the write). */
  const withSubscriber = (job: Job.Job, returned: { readonly subscriber: string | null }): Job.Job => {
    const { subscriber: _s, ...rest } = job
    return returned.subscriber === null
      ? rest
      : { ...rest, subscriber: JSON.parse(returned.subscriber) as Callback.Subscriber }
  }
  const remove = sql("DELETE FROM jobs WHERE id = ?")
  const removeFinishedCallbacks = sql("DELETE FROM callbacks WHERE job_id = ? AND status <> 'pending'")
  const removeValues = sql("DELETE FROM job_values WHERE id = ?")

  interface Version {
    readonly status: JobStatus.JobStatus
    readonly revision: number
    readonly owner: string | null
    readonly claims: number
  }
  const paramsOf = (expectedRevision: number, next: Job.Job) => ({
    ...headParams({ ...next, revision: expectedRevision + 1 }),
    expected: expectedRevision,
    allowed: allowedBefore[next.status]
  })
  /** What an update that changed its row answers (inside its write). */
  const updated = (expectedRevision: number, next: Job.Job, spilled: Spilled): Job.Job => {
    const written: Job.Job = { ...next, revision: expectedRevision + 1 }
    writeResults(next.id, next.results, spilled)
    // The inputs stay as created: the update's answer carries the stored ones, read only when `next` brought others.
    if (storedInputs.get(next.inputs) === next.id) return written
    const inputs = valuesFrom(inputsOf.all(next.id) as unknown as ReadonlyArray<ValueRow>, "inputs")
    storedInputs.set(inputs, next.id)
    return { ...written, inputs }
  }
  /** Why an update changed nothing, from what is stored (another writer may have moved it; any answer is honest). */
  const refused = (stored: Version | undefined, expectedRevision: number, next: Job.Job) =>
    stored === undefined
      ? new JobError.NoSuchJob({ jobId: next.id })
      : (JobStore.updateProblem({ id: next.id, ...stored }, expectedRevision, next) ??
        new JobError.StaleRevision({ jobId: next.id, expected: expectedRevision, actual: stored.revision }))
  const versionAt = (id: string) => versionOf.get(id) as Version | undefined

  const store: JobStore.JobStoreShape = {
    create: (job) =>
      Effect.flatMap(Effect.zip(spill(job.id, job.inputs), spill(job.id, job.results)), ([inputs, results]) =>
        writeSpilled("create", [inputs, results], () => {
          try {
            insert.run(createParams(job))
            putValues(job.id, "inputs", job.inputs, inputs)
            putValues(job.id, "results", job.results, results)
            storedInputs.set(job.inputs, job.id)
            storedResults.set(job.results, job.id)
          } catch (error) {
            if ((error as { errcode?: number }).errcode === 2067)
              return err(new JobError.DuplicateJob({ jobId: job.id }))
            throw error
          }
          return ok(job)
        })
      ),
    get: (id) =>
      run("get", () => {
        const values = byId.get(id) as unknown as ReadonlyArray<SQLOutputValue> | undefined
        return values === undefined ? err(new JobError.NoSuchJob({ jobId: id })) : ok(full(rowOf(values)))
      }),
    getSummary: (id) =>
      run("getSummary", () => {
        const summary = summaries(id, () => {
          const values = byId.get(id) as unknown as ReadonlyArray<SQLOutputValue> | undefined
          return values === undefined ? undefined : toSummary(rowOf(values))
        })
        return summary === undefined ? err(new JobError.NoSuchJob({ jobId: id })) : ok(summary)
      }),
    update: (expectedRevision, next) =>
      Effect.flatMap(Effect.zip(spillResults(next), Clock.currentTimeMillis), ([spilled, now]) =>
        writeSpilled("update", [spilled], () => {
          const returned = update.get(paramsOf(expectedRevision, next)) as { subscriber: string | null } | undefined
          if (returned === undefined) return err(refused(versionAt(next.id), expectedRevision, next))
          const written = withSubscriber(updated(expectedRevision, next, spilled), returned)
          writeCallback(written, now)
          return ok(written)
        })
      ),
    query: (query) =>
      Effect.flatMap(JobStore.normalizeQuery(query), (q) =>
        run("query", () => {
          const where: Array<string> = []
          const params: Record<string, SQLInputValue> = {}
          if (q.service !== undefined) {
            where.push("name = $name AND folder IS $folder")
            params.name = q.service.name
            params.folder = q.service.folder ?? null
          }
          if (q.statuses !== undefined) {
            where.push("status IN (SELECT value FROM json_each($statuses))")
            params.statuses = JSON.stringify(q.statuses)
          }
          if (q.user !== undefined) {
            where.push("user = $user")
            params.user = q.user
          }
          if (q.createdFrom !== undefined) {
            where.push("created >= $from")
            params.from = q.createdFrom
          }
          if (q.createdTo !== undefined) {
            where.push("created <= $to")
            params.to = q.createdTo
          }
          const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`
          const direction = q.order === "oldest" ? "ASC" : "DESC"
          const total = (sql(`SELECT count(*) AS n FROM jobs ${filter}`).get(params) as { n: number }).n
          const rows = sql(
            `SELECT ${summaryList} FROM jobs ${filter} ORDER BY created ${direction}, rowid ${direction}
            LIMIT $limit OFFSET $offset`
          ).all({ ...params, limit: q.number, offset: q.start - 1 }) as unknown as ReadonlyArray<Row>
          return ok(JobStore.page(q, total, rows.map(toSummary)))
        })
      ),
    delete: (id) =>
      write("delete", () => {
        if (remove.run(id).changes !== 1) return err(new JobError.NoSuchJob({ jobId: id }))
        removeValues.run(id)
        // Its pending callbacks are still delivered (a dismissed job's `failed` among them); the others go.
        removeFinishedCallbacks.run(id)
        return ok(undefined)
      }).pipe(
        Effect.tap(() =>
          valuesDir === undefined
            ? Effect.void
            : Effect.promise(() =>
                rm(join(valuesDir, folderOf(id)), { recursive: true, force: true }).catch(() => undefined)
              )
        )
      )
  }

  const running = sql(`SELECT folder, name, count(*) AS n FROM jobs WHERE status IN (${held}) GROUP BY name, folder`)
  // The scan reads the few columns it decides on; only the jobs claimed are read whole.
  const queued = sql(`SELECT id, folder, name, service_id FROM jobs WHERE status IN (${claimable})
    ORDER BY created ASC, rowid ASC LIMIT ?`)
  // Never before the submission: the claim's time is read before its turn in the group commit (or another process's
  // lock), and jobs submitted meanwhile may be among those it takes.
  const start =
    sql(`UPDATE jobs SET status = 'Executing', started = max($now, created), ended = NULL, revision = revision + 1,
    owner = $owner, claims = claims + 1 WHERE id = $id AND status IN (${claimable}) RETURNING claims`)
  const beat = sql(`INSERT INTO engines (id, node, host, pid, seen) VALUES ($id, $node, $host, $pid, $seen)
    ON CONFLICT (id) DO UPDATE SET node = excluded.node, host = excluded.host, pid = excluded.pid, seen = excluded.seen`)
  const orphaned =
    sql(`SELECT ${summaryColumns.map((c) => `jobs.${c}`).join(", ")}, jobs.owner, jobs.claims, engines.node
    FROM jobs LEFT JOIN engines ON engines.id = jobs.owner
    WHERE jobs.status IN (${held}) AND (jobs.owner IS NULL OR jobs.owner <> $self)
    AND (engines.id IS NULL OR $now - engines.seen >= $lease)
    ORDER BY jobs.created, jobs.rowid`)
  const heldBy = sql(`SELECT id, claims FROM jobs WHERE owner = ? AND status IN (${held}) ORDER BY created, rowid`)
  const expiredBefore = sql(`SELECT ${summaryList} FROM jobs WHERE expires IS NOT NULL AND expires <= ?
    AND status IN (${terminal}) ORDER BY expires LIMIT ?`)

  const queue: JobQueue.JobQueueShape = {
    claim: (request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        write("claim", () => {
          if (request.max <= 0) return ok([])
          const load = new Map<string, number>()
          for (const r of running.all() as unknown as ReadonlyArray<{ folder: string | null; name: string; n: number }>)
            load.set(keyOf(r.folder, r.name), r.n)
          const claimed: Array<JobQueue.Claimed> = []
          // Look past the first few: jobs of a service at its limit must not block the others (FIFO per service).
          const candidates = queued.all(Math.max(64, request.max * 8)) as unknown as ReadonlyArray<
            Pick<Row, "id" | "folder" | "name" | "service_id">
          >
          for (const row of candidates) {
            if (claimed.length >= request.max) break
            const key = keyOf(row.folder, row.name)
            const service =
              row.folder === null
                ? { name: row.name, type: "GPServer" as const, serviceId: row.service_id }
                : { folder: row.folder, name: row.name, type: "GPServer" as const, serviceId: row.service_id }
            if ((load.get(key) ?? 0) >= JobQueue.limitOf(request, service)) continue
            const started = start.get({ now, owner: request.owner, id: row.id }) as { claims: number } | undefined
            if (started === undefined) continue
            load.set(key, (load.get(key) ?? 0) + 1)
            const values = byId.get(row.id) as unknown as ReadonlyArray<SQLOutputValue>
            const job = full(rowOf(values))
            writeCallback(job, now)
            claimed.push({ job, claim: { owner: request.owner, number: started.claims } })
          }
          return ok(claimed)
        })
      ),
    updateClaimed: (claim, expectedRevision, next) =>
      Effect.flatMap(Effect.zip(spillResults(next), Clock.currentTimeMillis), ([spilled, now]) =>
        writeSpilled("update claimed", [spilled], () => {
          const params = { ...paramsOf(expectedRevision, next), owner: claim.owner, claims: claim.number }
          const returned = updateFenced.get(params) as { subscriber: string | null } | undefined
          if (returned !== undefined) {
            const written = withSubscriber(updated(expectedRevision, next, spilled), returned)
            writeCallback(written, now)
            return ok(written)
          }
          // A lost claim first: its writer must stop, not retry at the stored revision.
          const stored = versionAt(next.id)
          const lost = stored === undefined ? undefined : JobQueue.claimProblem({ id: next.id, ...stored }, claim)
          return err(lost ?? refused(stored, expectedRevision, next))
        })
      ),
    claimsOf: (owner) =>
      run("claimsOf", () =>
        ok(
          (heldBy.all(owner) as unknown as ReadonlyArray<{ id: string; claims: number }>).map((r) => ({
            jobId: r.id,
            claim: { owner, number: r.claims }
          }))
        )
      ),
    heartbeat: (owner, now) =>
      write("heartbeat", () => {
        beat.run({ id: owner.id, node: owner.node, host: owner.host, pid: owner.pid, seen: now })
        return ok(undefined)
      }),
    release: (id) =>
      write("release", () => {
        sql("DELETE FROM engines WHERE id = ?").run(id)
        return ok(undefined)
      }),
    forget: (owner) =>
      write("forget", () =>
        ok(
          Number(
            sql(`DELETE FROM engines WHERE id = ? AND seen = ?
              AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.owner = engines.id AND jobs.status IN (${held}))`).run(
              owner.id,
              owner.seen
            ).changes
          ) > 0
        )
      ),
    owners: run("owners", () =>
      ok(
        sql(
          "SELECT id, node, host, pid, seen FROM engines ORDER BY id"
        ).all() as unknown as ReadonlyArray<JobQueue.Owner>
      )
    ),
    orphans: (query) =>
      run("orphans", () => {
        const rows = orphaned.all({
          self: query.self,
          now: query.now,
          lease: query.leaseMs
        }) as unknown as ReadonlyArray<Row & { owner: string | null; claims: number; node: string | null }>
        return ok(
          rows.map(
            (row): JobQueue.Orphan => ({
              job: full(row),
              owner: row.owner,
              claim: row.owner === null ? null : { owner: row.owner, number: row.claims },
              attempts: row.claims,
              node: row.node
            })
          )
        )
      }),
    expired: (now, limit) =>
      run("expired", () => ok((expiredBefore.all(now, limit) as unknown as ReadonlyArray<Row>).map(full))),
    countByStatus: (service?: JobUrls.ServicePath) =>
      run("countByStatus", () => {
        const rows = (service === undefined
          ? sql("SELECT status, count(*) AS n FROM jobs GROUP BY status").all()
          : sql("SELECT status, count(*) AS n FROM jobs WHERE name = ? AND folder IS ? GROUP BY status").all(
              service.name,
              service.folder ?? null
            )) as unknown as ReadonlyArray<{ status: JobStatus.JobStatus; n: number }>
        return ok(Object.fromEntries(rows.map((r) => [r.status, r.n])))
      })
  }
  // --- the outbox's own operations -------------------------------------------------------------------------------
  const { deliveryColumns, fromRow: deliveryOf, keyOf: keyOfId } = CallbackOutbox
  type DeliveryRow = CallbackOutbox.DeliveryRow
  const claimCallbacks = sql(`UPDATE callbacks SET lease_owner = $owner, lease_until = $until
    WHERE rowid IN (SELECT rowid FROM callbacks WHERE status = 'pending' AND next_attempt <= $now
      AND lease_until <= $now ORDER BY next_attempt, rowid LIMIT $max)
    RETURNING ${deliveryColumns}`)
  const delivered = sql(`UPDATE callbacks SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
    delivered = $now, lease_owner = NULL, lease_until = 0 WHERE job_id = $job AND event = $event AND status = 'pending'`)
  const failedAttempt = sql(`UPDATE callbacks SET
    status = CASE WHEN $next IS NULL THEN 'failed' ELSE 'pending' END, attempts = attempts + $attempted,
    last_error = $error, next_attempt = coalesce($next, next_attempt), lease_owner = NULL, lease_until = 0
    WHERE job_id = $job AND event = $event AND status = 'pending' AND lease_owner = $owner`)
  // A finished callback of a job removed meanwhile is kept by nothing.
  const dropOrphaned = sql(`DELETE FROM callbacks WHERE job_id = $job AND event = $event AND status <> 'pending'
    AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = callbacks.job_id)`)
  const callbacksOf = sql(`SELECT ${deliveryColumns} FROM callbacks WHERE job_id = ? ORDER BY created, rowid`)

  const outbox: CallbackOutbox.CallbackOutboxShape = {
    claimDue: (request) =>
      write("claim callbacks", () => {
        if (request.max <= 0) return ok([])
        const rows = claimCallbacks.all({
          owner: request.owner,
          until: request.now + request.leaseMs,
          now: request.now,
          max: request.max
        }) as unknown as ReadonlyArray<DeliveryRow>
        return ok([...rows].sort((a, b) => a.next_attempt - b.next_attempt).map(deliveryOf))
      }),
    markDelivered: (id, at) =>
      write("callback delivered", () => {
        const key = keyOfId(id)
        delivered.run({ ...key, now: at.now })
        dropOrphaned.run(key)
        return ok(undefined)
      }),
    markFailed: (id, failure) =>
      write("callback failed", () => {
        const key = keyOfId(id)
        failedAttempt.run({
          ...key,
          owner: failure.owner,
          next: failure.nextAttempt,
          attempted: failure.attempted ? 1 : 0,
          error: failure.error
        })
        dropOrphaned.run(key)
        return ok(undefined)
      }),
    ofJob: (jobId) =>
      run("callbacks of a job", () =>
        ok((callbacksOf.all(jobId) as unknown as ReadonlyArray<DeliveryRow>).map(deliveryOf))
      )
  }
  return { store, queue, outbox }
}

/**
 * `JobStore` and `JobQueue` on one SQLite database; the connection closes when the layer is released.
 *
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<JobStore.JobStore | JobQueue.JobQueue | CallbackOutbox.CallbackOutbox, JobError.JobStoreError> =>
  Layer.effectContext(
    Effect.map(SqliteDatabase.acquire({ checkpoint: "background", ...options }, migrations, storeError), (db) => {
      const valuesDir =
        options.valuesDir ?? (options.filename === ":memory:" ? undefined : `${options.filename}-values`)
      const { store, queue, outbox } = make(db, valuesDir, options.fileAboveChars ?? defaultFileAboveChars)
      return Context.make(JobStore.JobStore, store).pipe(
        Context.add(JobQueue.JobQueue, queue),
        Context.add(CallbackOutbox.CallbackOutbox, outbox)
      )
    })
  )
