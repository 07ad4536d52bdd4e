/**
 * The durable job store and queue on `node:sqlite`: one database file in WAL mode, shared safely by several engine
 * processes. It provides core's `JobStore` and `JobQueue` (it passes both contract suites); a claim runs in one
 * `BEGIN IMMEDIATE` transaction, so no job is ever claimed twice, and writes are group-committed (see
 * `SqliteDatabase.groupCommit`). Status lists in the SQL come from core's status table.
 *
 * @module
 */
import type { SQLInputValue, SQLOutputValue } from "node:sqlite"
import { type Job, JobError, JobQueue, JobStatus, JobStore, type JobUrls } from "@geojobs/core"
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
   CREATE TABLE engines (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, seen INTEGER NOT NULL);`
]

const storeError = (operation: string, cause: unknown) => new JobError.JobStoreError({ operation, cause })
const { ok, err } = SqliteDatabase
type Outcome<A, E> = SqliteDatabase.Outcome<A, E>

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
}

/** The columns of `Row` in order, for a statement answering arrays (read back with `rowOf`). */
const rowColumns = [
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
  "body"
] as const

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
  body: v[12] as string
})

interface Body {
  readonly inputs: Job.Job["inputs"]
  readonly results: Job.Job["results"]
  readonly messages: Job.Job["messages"]
  readonly progress: Job.Job["progress"]
}

const toJob = (row: Row): Job.Job => {
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
    inputs: body.inputs,
    results: body.results,
    messages: body.messages,
    progress: body.progress,
    expires: row.expires
  }
}

const toParams = (job: Job.Job): Record<string, SQLInputValue> => ({
  id: job.id,
  folder: job.service.folder ?? null,
  name: job.service.name,
  service_id: job.service.serviceId,
  task: job.task,
  status: job.status,
  user: job.user,
  created: job.created,
  started: job.started,
  ended: job.ended,
  revision: job.revision,
  expires: job.expires,
  body: JSON.stringify({ inputs: job.inputs, results: job.results, messages: job.messages, progress: job.progress })
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
    revision, expires, body) VALUES ($id, $folder, $name, $service_id, $task, $status, $user, $created, $started,
    $ended, $revision, $expires, $body)`)
  // The hot read (every poll of a job) answers an array: node:sqlite builds a row object with named properties
  // slowly (about a third of this read's time, measured in the HTTP bench).
  const byId = db.prepare(`SELECT ${rowColumns.join(", ")} FROM jobs WHERE id = ?`)
  byId.setReturnArrays(true)
  const versionOf = sql("SELECT status, revision FROM jobs WHERE id = ?")
  const update = sql(`UPDATE jobs SET status = $status, user = $user, created = $created, started = $started,
    ended = $ended, revision = $revision, expires = $expires, body = $body
    WHERE id = $id AND revision = $expected AND status IN (SELECT value FROM json_each($allowed))`)
  // A job's id, service and task never change; the update simply ignores those parameters.
  update.setAllowUnknownNamedParameters(true)
  const remove = sql("DELETE FROM jobs WHERE id = ?")

  const store: JobStore.JobStoreShape = {
    create: (job) =>
      write("create", () => {
        try {
          insert.run(toParams(job))
        } catch (error) {
          if ((error as { errcode?: number }).errcode === 2067) return err(new JobError.DuplicateJob({ jobId: job.id }))
          throw error
        }
        return ok(job)
      }),
    get: (id) =>
      run("get", () => {
        const values = byId.get(id) as unknown as ReadonlyArray<SQLOutputValue> | undefined
        return values === undefined ? err(new JobError.NoSuchJob({ jobId: id })) : ok(toJob(rowOf(values)))
      }),
    update: (expectedRevision, next) =>
      write(
        "update",
        (): Outcome<Job.Job, JobError.NoSuchJob | JobError.StaleRevision | JobError.InvalidTransition> => {
          const written: Job.Job = { ...next, revision: expectedRevision + 1 }
          const changes = update.run({
            ...toParams(written),
            expected: expectedRevision,
            allowed: allowedBefore[next.status]
          })
          if (changes.changes === 1) return ok(written)
          // Refused: read what is there to say why (another writer may have moved it meanwhile; any answer is honest).
          const stored = versionOf.get(next.id) as { status: JobStatus.JobStatus; revision: number } | undefined
          if (stored === undefined) return err(new JobError.NoSuchJob({ jobId: next.id }))
          return err(
            JobStore.updateProblem({ id: next.id, ...stored }, expectedRevision, next) ??
              new JobError.StaleRevision({ jobId: next.id, expected: expectedRevision, actual: stored.revision })
          )
        }
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
            `SELECT * FROM jobs ${filter} ORDER BY created ${direction}, rowid ${direction} LIMIT $limit OFFSET $offset`
          ).all({ ...params, limit: q.number, offset: q.start - 1 }) as unknown as ReadonlyArray<Row>
          return ok(JobStore.page(q, total, rows.map(toJob)))
        })
      ),
    delete: (id) =>
      write("delete", () => (remove.run(id).changes === 1 ? ok(undefined) : err(new JobError.NoSuchJob({ jobId: id }))))
  }

  const running = sql(`SELECT folder, name, count(*) AS n FROM jobs WHERE status IN (${held}) GROUP BY name, folder`)
  const queued = sql(`SELECT * FROM jobs WHERE status IN (${claimable}) ORDER BY created ASC, rowid ASC LIMIT ?`)
  const start = sql(`UPDATE jobs SET status = 'Executing', started = $now, ended = NULL, revision = revision + 1,
    owner = $owner WHERE id = $id AND status IN (${claimable})`)
  const beat = sql(`INSERT INTO engines (id, host, pid, seen) VALUES ($id, $host, $pid, $seen)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, seen = excluded.seen`)
  const orphaned = sql(`SELECT jobs.* FROM jobs LEFT JOIN engines ON engines.id = jobs.owner
    WHERE jobs.status IN (${held}) AND (jobs.owner IS NULL OR jobs.owner <> $self)
    AND (engines.id IS NULL OR $now - engines.seen >= $lease OR engines.id IN (SELECT value FROM json_each($dead)))
    ORDER BY jobs.created, jobs.rowid`)
  const expiredBefore = sql(`SELECT * FROM jobs WHERE expires IS NOT NULL AND expires <= ?
    AND status IN (${terminal}) ORDER BY expires LIMIT ?`)

  const queue: JobQueue.JobQueueShape = {
    claim: (request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        write("claim", () => {
          if (request.max <= 0) return ok([])
          const load = new Map<string, number>()
          for (const r of running.all() as unknown as ReadonlyArray<{ folder: string | null; name: string; n: number }>)
            load.set(keyOf(r.folder, r.name), r.n)
          const claimed: Array<Job.Job> = []
          // Look past the first few: jobs of a service at its limit must not block the others (FIFO per service).
          for (const row of queued.iterate(Math.max(64, request.max * 8)) as Iterable<Row>) {
            if (claimed.length >= request.max) break
            const key = keyOf(row.folder, row.name)
            const job = toJob(row)
            if ((load.get(key) ?? 0) >= JobQueue.limitOf(request, job.service)) continue
            if (start.run({ now, owner: request.owner, id: row.id }).changes !== 1) continue
            load.set(key, (load.get(key) ?? 0) + 1)
            claimed.push({ ...job, status: "Executing", started: now, ended: null, revision: job.revision + 1 })
          }
          return ok(claimed)
        })
      ),
    heartbeat: (owner, now) =>
      write("heartbeat", () => {
        beat.run({ id: owner.id, host: owner.host, pid: owner.pid, seen: now })
        return ok(undefined)
      }),
    release: (id) =>
      write("release", () => {
        sql("DELETE FROM engines WHERE id = ?").run(id)
        return ok(undefined)
      }),
    owners: run("owners", () =>
      ok(sql("SELECT id, host, pid, seen FROM engines ORDER BY id").all() as unknown as ReadonlyArray<JobQueue.Owner>)
    ),
    orphans: (query) =>
      run("orphans", () => {
        const rows = orphaned.all({
          self: query.self,
          now: query.now,
          lease: query.leaseMs,
          dead: JSON.stringify(query.dead ?? [])
        }) as unknown as ReadonlyArray<Row & { owner: string | null }>
        return ok(rows.map((row) => ({ job: toJob(row), owner: row.owner })))
      }),
    expired: (now, limit) =>
      run("expired", () => ok((expiredBefore.all(now, limit) as unknown as ReadonlyArray<Row>).map(toJob))),
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
    Effect.map(SqliteDatabase.acquire(options, migrations, storeError), (db) => {
      const { store, queue } = make(db)
      return Context.make(JobStore.JobStore, store).pipe(Context.add(JobQueue.JobQueue, queue))
    })
  )
