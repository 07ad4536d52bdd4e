/**
 * The durable job store on `node:sqlite`: one database file in WAL mode, shared safely by several engine processes.
 * It provides core's `JobStore` (it passes the JobStore contract suite) and the engine's `JobQueue`, whose claim runs
 * in one `BEGIN IMMEDIATE` transaction so that no job is ever claimed twice. Writes are acknowledged once committed;
 * with the default `synchronous = NORMAL` a committed job survives a process crash (an OS crash may lose the last
 * commits; `synchronous: "full"` closes that gap at the cost of an fsync per write).
 *
 * @module
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync, type SQLInputValue, type SQLOutputValue, type StatementSync } from "node:sqlite"
import { type Job, JobError, JobStatus, JobStore, type JobUrls } from "@geojobs/core"
import { Context, Effect, Layer } from "effect"
import { type ClaimRequest, JobQueue, type JobQueueShape, type Owner } from "./JobQueue.ts"

/**
 * Where and how to open the database.
 *
 * @category models
 */
export interface SqliteOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  readonly filename: string
  readonly synchronous?: "normal" | "full" | undefined
  /** How long a writer waits for another process's transaction, in milliseconds (default 5000). */
  readonly busyTimeoutMs?: number | undefined
}

/**
 * The migrations, in order; `PRAGMA user_version` records how many have run.
 *
 * @category models
 */
export const migrations: ReadonlyArray<{ readonly name: string; readonly sql: string }> = [
  {
    name: "jobs and engines",
    sql: `
      CREATE TABLE jobs (
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
      -- the dispatcher (Submitted, oldest first), running jobs, and counts by status
      CREATE INDEX jobs_status_created ON jobs (status, created);
      -- the sweeper
      CREATE INDEX jobs_expires ON jobs (expires) WHERE expires IS NOT NULL;
      CREATE TABLE engines (id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, seen INTEGER NOT NULL);
    `
  }
]

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

const activeStatuses = ["Executing", "Cancelling"] as const
const terminalStatuses = JobStatus.all.filter(JobStatus.isTerminal)

/**
 * Opens the database, applies pending migrations, and returns the connection. Exposed for tools and tests that need
 * to look inside; the store layers own their own connection.
 *
 * @category constructors
 */
export const open = (options: SqliteOptions): DatabaseSync => {
  if (options.filename !== ":memory:") mkdirSync(dirname(options.filename), { recursive: true })
  const db = new DatabaseSync(options.filename)
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
  db.exec("PRAGMA journal_mode = WAL")
  db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
  db.exec("PRAGMA foreign_keys = ON")
  // Two processes may start at once on a new file: the write lock makes exactly one of them migrate.
  transaction(db, () => {
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version
    for (const [i, migration] of migrations.entries()) {
      if (i >= version) db.exec(migration.sql)
    }
    if (version < migrations.length) db.exec(`PRAGMA user_version = ${migrations.length}`)
  })
  return db
}

/** Runs `f` in a write transaction (BEGIN IMMEDIATE takes the write lock at once, so reads inside are current). */
const transaction = <A>(db: DatabaseSync, f: () => A): A => {
  db.exec("BEGIN IMMEDIATE")
  try {
    const result = f()
    db.exec("COMMIT")
    return result
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK")
    throw error
  }
}

type Outcome<A, E> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: E }
const ok = <A>(value: A): Outcome<A, never> => ({ ok: true, value })
const err = <E>(error: E): Outcome<never, E> => ({ ok: false, error })

/** Runs synchronous database work as an Effect: domain outcomes stay typed, anything thrown is a JobStoreError. */
const run = <A, E>(operation: string, f: () => Outcome<A, E>): Effect.Effect<A, E | JobError.JobStoreError> =>
  Effect.suspend((): Effect.Effect<A, E | JobError.JobStoreError> => {
    let outcome: Outcome<A, E>
    try {
      outcome = f()
    } catch (cause) {
      return Effect.fail(new JobError.JobStoreError({ operation, cause }))
    }
    return outcome.ok ? Effect.succeed(outcome.value) : Effect.fail(outcome.error)
  })

/**
 * Group commit: writes requested in the same turn of the event loop run in one transaction, and each is acknowledged
 * once that transaction has committed. Under concurrent submitters this turns many commits (each a WAL append) into
 * one; a lone write waits only for the next turn. A write that fails (a duplicate id, say) fails alone: SQLite rolls
 * back the statement, not the transaction.
 */
const makeWriter = (db: DatabaseSync) => {
  interface Pending {
    readonly operation: string
    readonly work: () => Outcome<unknown, unknown>
    readonly resume: (effect: Effect.Effect<unknown, unknown>) => void
  }
  let pending: Array<Pending> = []
  const flush = () => {
    const items = pending
    pending = []
    const outcomes: Array<{ readonly outcome?: Outcome<unknown, unknown>; readonly thrown?: unknown }> = []
    try {
      db.exec("BEGIN IMMEDIATE")
      for (const item of items) {
        // Each write is atomic on its own: one that throws halfway leaves nothing behind.
        db.exec("SAVEPOINT item")
        try {
          outcomes.push({ outcome: item.work() })
          db.exec("RELEASE item")
        } catch (thrown) {
          db.exec("ROLLBACK TO item")
          db.exec("RELEASE item")
          outcomes.push({ thrown })
        }
      }
      db.exec("COMMIT")
    } catch (cause) {
      if (db.isOpen && db.isTransaction) db.exec("ROLLBACK")
      for (const item of items)
        item.resume(Effect.fail(new JobError.JobStoreError({ operation: item.operation, cause })))
      return
    }
    items.forEach((item, i) => {
      const { outcome, thrown } = outcomes[i] ?? {}
      if (outcome === undefined) {
        item.resume(Effect.fail(new JobError.JobStoreError({ operation: item.operation, cause: thrown })))
      } else {
        item.resume(outcome.ok ? Effect.succeed(outcome.value) : Effect.fail(outcome.error))
      }
    })
  }
  return <A, E>(operation: string, work: () => Outcome<A, E>): Effect.Effect<A, E | JobError.JobStoreError> =>
    Effect.callback<A, E | JobError.JobStoreError>((resume) => {
      pending.push({ operation, work, resume: resume as Pending["resume"] })
      if (pending.length === 1) setImmediate(flush)
    })
}

const make = (db: DatabaseSync): { readonly store: JobStore.JobStoreShape; readonly queue: JobQueueShape } => {
  const write = makeWriter(db)
  const cache = new Map<string, StatementSync>()
  const sql = (text: string): StatementSync => {
    let statement = cache.get(text)
    if (statement === undefined) {
      statement = db.prepare(text)
      cache.set(text, statement)
    }
    return statement
  }

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

  const running = sql(`SELECT folder, name, count(*) AS n FROM jobs
    WHERE status IN ('Executing', 'Cancelling') GROUP BY name, folder`)
  const queued = sql("SELECT * FROM jobs WHERE status = 'Submitted' ORDER BY created ASC, rowid ASC LIMIT ?")
  const start = sql(`UPDATE jobs SET status = 'Executing', started = $now, ended = NULL, revision = revision + 1,
    owner = $owner WHERE id = $id AND status = 'Submitted'`)
  const beat = sql(`INSERT INTO engines (id, host, pid, seen) VALUES ($id, $host, $pid, $seen)
    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, seen = excluded.seen`)
  const active = sql(`SELECT jobs.*, engines.id AS e_id, engines.host AS e_host, engines.pid AS e_pid,
    engines.seen AS e_seen FROM jobs LEFT JOIN engines ON engines.id = jobs.owner
    WHERE jobs.status IN ('Executing', 'Cancelling')`)
  const expiredBefore = sql(`SELECT * FROM jobs WHERE expires IS NOT NULL AND expires <= ?
    AND status IN (SELECT value FROM json_each(?)) ORDER BY expires LIMIT ?`)
  const keyOf = (folder: string | null, name: string) => (folder === null ? name : `${folder}/${name}`)

  const queue: JobQueueShape = {
    claim: (request: ClaimRequest) =>
      write("claim", () => {
        if (request.max <= 0) return ok([])
        const now = Date.now()
        return ok(
          (() => {
            const load = new Map<string, number>()
            for (const r of running.all() as unknown as ReadonlyArray<{
              folder: string | null
              name: string
              n: number
            }>) {
              load.set(keyOf(r.folder, r.name), r.n)
            }
            const claimed: Array<Job.Job> = []
            // Look past the first few: jobs of a service at its limit must not block the others (FIFO per service).
            for (const row of queued.iterate(Math.max(64, request.max * 8)) as Iterable<Row>) {
              if (claimed.length >= request.max) break
              const key = keyOf(row.folder, row.name)
              const job = toJob(row)
              if ((load.get(key) ?? 0) >= request.limitFor(job.service)) continue
              if (start.run({ now, owner: request.owner, id: row.id }).changes !== 1) continue
              load.set(key, (load.get(key) ?? 0) + 1)
              claimed.push({ ...job, status: "Executing", started: now, ended: null, revision: job.revision + 1 })
            }
            return claimed
          })()
        )
      }),
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
    orphans: (isAlive) =>
      run("orphans", () => {
        const rows = active.all() as unknown as ReadonlyArray<
          Row & { owner: string | null; e_id: string | null; e_host: string; e_pid: number; e_seen: number }
        >
        return ok(
          rows.flatMap((row) => {
            const owner: Owner | undefined =
              row.e_id === null ? undefined : { id: row.e_id, host: row.e_host, pid: row.e_pid, seen: row.e_seen }
            return owner !== undefined && isAlive(owner) ? [] : [{ job: toJob(row), owner: row.owner }]
          })
        )
      }),
    expired: (now, limit) =>
      run("expired", () =>
        ok(
          (expiredBefore.all(now, JSON.stringify(terminalStatuses), limit) as unknown as ReadonlyArray<Row>).map(toJob)
        )
      ),
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
export const layer = (options: SqliteOptions): Layer.Layer<JobStore.JobStore | JobQueue, JobError.JobStoreError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const db = yield* Effect.acquireRelease(
        Effect.try({
          try: () => open(options),
          catch: (cause) => new JobError.JobStoreError({ operation: `open ${options.filename}`, cause })
        }),
        (db) => Effect.sync(() => db.isOpen && db.close())
      )
      const { store, queue } = make(db)
      return Context.make(JobStore.JobStore, store).pipe(Context.add(JobQueue, queue))
    })
  )

/** Statuses a running job may be in (exported for the engine's recovery). @category models */
export const active: ReadonlyArray<JobStatus.JobStatus> = activeStatuses
