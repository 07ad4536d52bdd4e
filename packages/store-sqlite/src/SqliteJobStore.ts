/**
 * The durable job store and queue on `node:sqlite`: one database file in WAL mode, shared safely by several engine
 * processes. It provides core's `JobStore` and `JobQueue` (it passes both contract suites); a claim runs in one
 * `BEGIN IMMEDIATE` transaction, so no job is ever claimed twice, and writes are group-committed (see
 * `SqliteDatabase.groupCommit`). Each job row keeps its owner and its claim count; a write under a claim's fencing
 * token is one `UPDATE` guarded by both (core's `JobQueue.claimProblem` says why one was refused). Status lists in
 * the SQL come from core's status table.
 *
 * @module
 */
import type { SQLInputValue, SQLOutputValue } from "node:sqlite"
import { EncodedValue, type Job, JobError, JobQueue, JobStatus, JobStore, type JobUrls } from "@geojobs/core"
import { Clock, Context, Effect, Layer } from "effect"
import * as SqliteDatabase from "./SqliteDatabase.ts"

/**
 * Where and how to open the database.
 *
 * @category models
 */
export type Options = SqliteDatabase.Options

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
   CREATE INDEX jobs_owner ON jobs (owner) WHERE owner IS NOT NULL;`
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
  "result_names"
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
  result_names: v[14] as string
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
    resultNames: JSON.parse(row.result_names) as Array<string>
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
}

/** The values of one kind, each decoded only when read. */
const valuesFrom = (rows: ReadonlyArray<ValueRow>, kind: "inputs" | "results"): Record<string, Job.JobValue> => {
  const values: Record<string, Job.JobValue> = {}
  for (const v of rows) if (v.kind === kind) values[v.name] = EncodedValue.lazy({ dataType: v.data_type, json: v.json })
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
  input_names: JSON.stringify(Object.keys(job.inputs))
})

/** What may precede each status in an update, as JSON arrays for `json_each` (the status itself included). */
const allowedBefore = Object.fromEntries(
  JobStatus.all.map((s) => [s, JSON.stringify([s, ...JobStatus.predecessors(s)])])
) as Record<JobStatus.JobStatus, string>

const held = SqliteDatabase.literals(JobStatus.held)
const claimable = SqliteDatabase.literals(JobStatus.claimable)
const terminal = SqliteDatabase.literals(JobStatus.terminal)
const keyOf = (folder: string | null, name: string) => (folder === null ? name : `${folder}/${name}`)

const make = (db: import("node:sqlite").DatabaseSync) => {
  const write = SqliteDatabase.groupCommit(db, storeError)
  const run = SqliteDatabase.runner(storeError)
  const sql = SqliteDatabase.statements(db)

  const insert = sql(`INSERT INTO jobs (id, folder, name, service_id, task, status, user, created, started, ended,
    revision, expires, body, input_names, result_names) VALUES ($id, $folder, $name, $service_id, $task, $status,
    $user, $created, $started, $ended, $revision, $expires, $body, $input_names, $result_names)`)
  const putValue = sql(`INSERT INTO job_values (id, kind, name, ord, data_type, json) VALUES (?, ?, ?, ?, ?, ?)`)
  const putValues = (id: string, kind: "inputs" | "results", values: Readonly<Record<string, Job.JobValue>>) => {
    let ord = 0
    for (const [name, value] of Object.entries(values))
      putValue.run(id, kind, name, ord++, value.dataType, EncodedValue.textOf(value))
  }
  const removeValuesOf = sql("DELETE FROM job_values WHERE id = ? AND kind = ?")
  const writeResults = (id: string, results: Job.Job["results"]) => {
    if (storedResults.get(results) === id) return
    removeValuesOf.run(id, "results")
    putValues(id, "results", results)
    storedResults.set(results, id)
  }
  const valuesOf = sql("SELECT kind, name, data_type, json FROM job_values WHERE id = ? ORDER BY kind, ord")
  const inputsOf = sql(
    "SELECT kind, name, data_type, json FROM job_values WHERE id = ? AND kind = 'inputs' ORDER BY ord"
  )
  const full = (row: Row) => toJob(row, valuesOf.all(row.id) as unknown as ReadonlyArray<ValueRow>)
  // The hot read (every poll of a job) answers an array: node:sqlite builds a row object with named properties
  // slowly (about a third of this read's time, measured in the HTTP bench).
  const byId = db.prepare(`SELECT ${summaryList} FROM jobs WHERE id = ?`)
  byId.setReturnArrays(true)
  const versionOf = sql("SELECT status, revision, owner, claims FROM jobs WHERE id = ?")
  // A job's id, service, task and inputs never change: the update does not write them. A job leaving the held
  // statuses forgets its owner (its claim is over); the claim count stays.
  const updateSet = `UPDATE jobs SET status = $status, user = $user, created = $created, started = $started,
    ended = $ended, revision = $revision, expires = $expires, body = $body, result_names = $result_names,
    owner = CASE WHEN $status IN (${held}) THEN owner ELSE NULL END
    WHERE id = $id AND revision = $expected AND status IN (SELECT value FROM json_each($allowed))`
  const update = sql(updateSet)
  const updateFenced = sql(`${updateSet} AND status IN (${held}) AND owner = $owner AND claims = $claims`)
  const remove = sql("DELETE FROM jobs WHERE id = ?")
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
  const updated = (expectedRevision: number, next: Job.Job): Job.Job => {
    const written: Job.Job = { ...next, revision: expectedRevision + 1 }
    writeResults(next.id, next.results)
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
      write("create", () => {
        try {
          insert.run(createParams(job))
          putValues(job.id, "inputs", job.inputs)
          putValues(job.id, "results", job.results)
          storedInputs.set(job.inputs, job.id)
          storedResults.set(job.results, job.id)
        } catch (error) {
          if ((error as { errcode?: number }).errcode === 2067) return err(new JobError.DuplicateJob({ jobId: job.id }))
          throw error
        }
        return ok(job)
      }),
    get: (id) =>
      run("get", () => {
        const values = byId.get(id) as unknown as ReadonlyArray<SQLOutputValue> | undefined
        return values === undefined ? err(new JobError.NoSuchJob({ jobId: id })) : ok(full(rowOf(values)))
      }),
    getSummary: (id) =>
      run("getSummary", () => {
        const values = byId.get(id) as unknown as ReadonlyArray<SQLOutputValue> | undefined
        return values === undefined ? err(new JobError.NoSuchJob({ jobId: id })) : ok(toSummary(rowOf(values)))
      }),
    update: (expectedRevision, next) =>
      write("update", () =>
        update.run(paramsOf(expectedRevision, next)).changes === 1
          ? ok(updated(expectedRevision, next))
          : err(refused(versionAt(next.id), expectedRevision, next))
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
        return ok(undefined)
      })
  }

  const running = sql(`SELECT folder, name, count(*) AS n FROM jobs WHERE status IN (${held}) GROUP BY name, folder`)
  // The scan reads the few columns it decides on; only the jobs claimed are read whole.
  const queued = sql(`SELECT id, folder, name, service_id FROM jobs WHERE status IN (${claimable})
    ORDER BY created ASC, rowid ASC LIMIT ?`)
  const start = sql(`UPDATE jobs SET status = 'Executing', started = $now, ended = NULL, revision = revision + 1,
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
            claimed.push({ job: full(rowOf(values)), claim: { owner: request.owner, number: started.claims } })
          }
          return ok(claimed)
        })
      ),
    updateClaimed: (claim, expectedRevision, next) =>
      write("update claimed", () => {
        const params = { ...paramsOf(expectedRevision, next), owner: claim.owner, claims: claim.number }
        if (updateFenced.run(params).changes === 1) return ok(updated(expectedRevision, next))
        // A lost claim first: its writer must stop, not retry at the stored revision.
        const stored = versionAt(next.id)
        const lost = stored === undefined ? undefined : JobQueue.claimProblem({ id: next.id, ...stored }, claim)
        return err(lost ?? refused(stored, expectedRevision, next))
      }),
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
  return { store, queue }
}

/**
 * `JobStore` and `JobQueue` on one SQLite database; the connection closes when the layer is released.
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<JobStore.JobStore | JobQueue.JobQueue, JobError.JobStoreError> =>
  Layer.effectContext(
    Effect.map(SqliteDatabase.acquire({ checkpoint: "background", ...options }, migrations, storeError), (db) => {
      const { store, queue } = make(db)
      return Context.make(JobStore.JobStore, store).pipe(Context.add(JobQueue.JobQueue, queue))
    })
  )
