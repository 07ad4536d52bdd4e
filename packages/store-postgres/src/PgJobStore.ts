/**
 * The job store and queue on PostgreSQL, shared by every GeoJobs node on one database. It provides core's `JobStore`
 * and `JobQueue` (it passes both contract suites). An update is one revision-guarded `UPDATE`; a claim takes a
 * transaction advisory lock per service before it counts that service's running jobs, so a service's limit holds
 * across the whole cluster, and takes the oldest jobs with `FOR UPDATE SKIP LOCKED`. Inputs and results live in
 * columns of their own that summaries, queries and the claim scan never read, and an update never rewrites the
 * inputs. Each job row keeps its owner and its claim count; a write under a claim's fencing token is one `UPDATE`
 * guarded by both (core's `JobQueue.claimProblem` says why one was refused). Status lists in the SQL come from core's
 * status table. It also provides core's `CallbackOutbox`: the callback a status change makes (core's
 * `Callback.outgoing`) is inserted by the same statement (or the claim's transaction) that makes the change, and
 * deliverers on every node claim due ones with `FOR UPDATE SKIP LOCKED` under a lease.
 *
 * @module
 */
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
import * as PgDatabase from "./PgDatabase.ts"

/**
 * Where the database is, and the schema of the tables.
 *
 * @category models
 */
export type Options = PgDatabase.Options

/**
 * The migrations, in order (a schema made by an older GeoJobs is brought up to date at start).
 *
 * @category models
 */
export const migrations: PgDatabase.Migrations = {
  component: "jobs",
  steps: [
    `CREATE TABLE jobs (
       seq bigserial PRIMARY KEY,
       id text NOT NULL CONSTRAINT jobs_id_unique UNIQUE,
       folder text NOT NULL,
       name text NOT NULL,
       service_id text NOT NULL,
       task text NOT NULL,
       status text NOT NULL,
       username text,
       created bigint NOT NULL,
       started bigint,
       ended bigint,
       revision integer NOT NULL,
       expires bigint,
       owner text,
       messages text NOT NULL,
       progress text,
       input_names text[] NOT NULL,
       result_names text[] NOT NULL,
       inputs text NOT NULL,
       results text NOT NULL
     );
     -- the admin query is always per service (by status, user and time window within it), newest first
     CREATE INDEX jobs_service_created ON jobs (name, folder, created, seq);
     -- the claim (queued jobs of one service, oldest first), held jobs per service, and counts by status
     CREATE INDEX jobs_status_service ON jobs (status, name, folder, created, seq);
     -- the sweeper
     CREATE INDEX jobs_expires ON jobs (expires) WHERE expires IS NOT NULL;
     CREATE TABLE engines (id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, seen bigint NOT NULL);`,
    // Leases and fencing (issue 11): a job's claim count (its attempts; with the owner, the fencing token of a run) and
    // each engine's node name. A held job's owner is looked up by `claimsOf` on every heartbeat.
    `ALTER TABLE jobs ADD COLUMN claims integer NOT NULL DEFAULT 0;
     ALTER TABLE engines ADD COLUMN node text NOT NULL DEFAULT '';
     UPDATE jobs SET owner = NULL WHERE status NOT IN (${PgDatabase.literals(JobStatus.held)});
     CREATE INDEX jobs_owner ON jobs (owner) WHERE owner IS NOT NULL;`,
    // OGC callbacks (issue 12): a job's subscriber (JSON text, NULL for most jobs), and the outbox its status changes
    // write into with themselves, one row per job and event, claimed under a lease by the node delivering it.
    `ALTER TABLE jobs ADD COLUMN subscriber text;
     CREATE TABLE callbacks (
       seq bigserial PRIMARY KEY,
       job_id text NOT NULL,
       event text NOT NULL,
       uri text NOT NULL,
       body text NOT NULL,
       status text NOT NULL,
       attempts integer NOT NULL DEFAULT 0,
       last_error text,
       created bigint NOT NULL,
       next_attempt bigint NOT NULL,
       delivered bigint,
       lease_owner text,
       lease_until bigint NOT NULL DEFAULT 0,
       CONSTRAINT callbacks_job_event UNIQUE (job_id, event)
     );
     CREATE INDEX callbacks_due ON callbacks (next_attempt, seq) WHERE status = 'pending';`,
    // The claim and the takeover read only jobs in flight; partial indexes hold only those, so their cost follows
    // the queue, not the history a service keeps. With the status index alone, a claim's count of held jobs was
    // planned over the service index and read every job the service had kept (measured 2026-12-06: 3,579 rows read
    // per claim, ~5 ms, in a schema of ~7,000 jobs). That index served only these two; the admin query and the counts
    // per service use the service index, the sweeper its own.
    `CREATE INDEX jobs_claimable ON jobs (name, folder, created, seq) WHERE status IN (${PgDatabase.literals(JobStatus.claimable)});
     CREATE INDEX jobs_held ON jobs (name, folder) WHERE status IN (${PgDatabase.literals(JobStatus.held)});
     DROP INDEX jobs_status_service;`
  ]
}

/** The key space of the per-service claim locks ("gjob"), apart from the migration lock's single-key space. */
export const claimLockSpace = 0x676a6f62

const storeError = (operation: string, cause: unknown) => new JobError.JobStoreError({ operation, cause })

/** The columns of a summary: everything but the parameter values. */
const summaryColumns = [
  "seq",
  "id",
  "folder",
  "name",
  "service_id",
  "task",
  "status",
  "username",
  "created",
  "started",
  "ended",
  "revision",
  "expires",
  "messages",
  "progress",
  "input_names",
  "result_names",
  "subscriber"
] as const
const jobColumns = [...summaryColumns, "inputs", "results"] as const
/** A column list for a statement's text, optionally of a table alias. */
const list = (columns: ReadonlyArray<string>, alias?: string) =>
  columns.map((c) => (alias === undefined ? c : `${alias}.${c}`)).join(", ")
const summaryList = list(summaryColumns)
const jobList = list(jobColumns)

interface SummaryRow {
  readonly seq: number
  readonly id: string
  readonly folder: string
  readonly name: string
  readonly service_id: string
  readonly task: string
  readonly status: JobStatus.JobStatus
  readonly username: string | null
  readonly created: number
  readonly started: number | null
  readonly ended: number | null
  readonly revision: number
  readonly expires: number | null
  readonly messages: string
  readonly progress: string | null
  readonly input_names: ReadonlyArray<string>
  readonly result_names: ReadonlyArray<string>
  readonly subscriber: string | null
}

interface JobRow extends SummaryRow {
  readonly inputs: string
  readonly results: string
}

// A service at the root has no folder; it is stored as '' (never a valid folder name) so that equality is indexable.
const folderOf = (service: JobUrls.ServicePath) => service.folder ?? ""

const baseOf = (row: SummaryRow): Omit<Job.Job, "inputs" | "results"> => ({
  id: row.id,
  service:
    row.folder === ""
      ? { name: row.name, type: "GPServer", serviceId: row.service_id }
      : { folder: row.folder, name: row.name, type: "GPServer", serviceId: row.service_id },
  task: row.task,
  status: row.status,
  user: row.username,
  created: row.created,
  started: row.started,
  ended: row.ended,
  revision: row.revision,
  messages: JSON.parse(row.messages) as Job.Job["messages"],
  progress: row.progress === null ? null : (JSON.parse(row.progress) as Job.Job["progress"]),
  expires: row.expires,
  ...(row.subscriber === null ? {} : { subscriber: JSON.parse(row.subscriber) as Callback.Subscriber })
})

const summaryOf = (row: SummaryRow): Job.JobSummary => ({
  ...baseOf(row),
  inputNames: row.input_names,
  resultNames: row.result_names
})

/** The columns a job is created with that no update changes (its identity, service and task, and its inputs). */
const fixed = (job: Job.Job) => ({
  id: job.id,
  folder: folderOf(job.service),
  name: job.service.name,
  service_id: job.service.serviceId,
  task: job.task,
  revision: job.revision,
  input_names: Object.keys(job.inputs),
  inputs: EncodedValue.recordText(job.inputs),
  subscriber: job.subscriber === undefined ? null : JSON.stringify(job.subscriber)
})

/** The columns an update writes (revision aside, which the update advances itself). */
const changing = (job: Job.Job) => ({
  status: job.status,
  username: job.user,
  created: job.created,
  started: job.started,
  ended: job.ended,
  expires: job.expires,
  messages: JSON.stringify(job.messages),
  progress: job.progress === null ? null : JSON.stringify(job.progress),
  result_names: Object.keys(job.results),
  results: EncodedValue.recordText(job.results)
})

/** `$1, …, $count`. */
const placeholders = (count: number) => Array.from({ length: count }, (_, i) => `$${i + 1}`).join(", ")

/** What may precede each status in an update (the status itself included), for `status = ANY($n)`. */
const allowedBefore = (status: JobStatus.JobStatus): ReadonlyArray<JobStatus.JobStatus> => [
  status,
  ...JobStatus.predecessors(status)
]

const make = (db: PgDatabase.Database<JobError.JobStoreError>) => {
  const jobs = db.table("jobs")
  const engines = db.table("engines")
  const callbacks = db.table("callbacks")

  /** Writes the callbacks the jobs (as written) send, if any, at most one per job and event; on `on` (a transaction). */
  const insertCallbacks = (
    on: Pick<PgDatabase.Database<JobError.JobStoreError>, "query">,
    written: ReadonlyArray<Job.Job>,
    now: number
  ) => {
    const outs = written.flatMap((job) => {
      const out = Callback.outgoing(job)
      return out === undefined ? [] : [out]
    })
    if (outs.length === 0) return Effect.void
    return Effect.asVoid(
      on.query(
        "write callbacks",
        `INSERT INTO ${callbacks} (job_id, event, uri, body, status, created, next_attempt)
         SELECT j, e, u, b, 'pending', $5, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS o(j, e, u, b)
         ON CONFLICT (job_id, event) DO NOTHING`,
        [outs.map((o) => o.jobId), outs.map((o) => o.event), outs.map((o) => o.uri), outs.map((o) => o.body), now]
      )
    )
  }

  const held = [...JobStatus.held]
  // In the text of the claim's and the takeover's statements, not parameters (PgDatabase.literals says why).
  const claimableList = PgDatabase.literals(JobStatus.claimable)
  const heldList = PgDatabase.literals(held)
  const terminal = [...JobStatus.terminal]

  // Inputs never change after create, so an inputs object this store read or wrote for a row (by its `seq`, which
  // no other row ever has) is that row's inputs: an update handed it back need not read megabytes to answer them.
  const knownInputs = new WeakMap<object, number>()
  const toJob = (row: JobRow): Job.Job => {
    const inputs = JSON.parse(row.inputs) as Job.Job["inputs"]
    knownInputs.set(inputs, row.seq)
    return { ...baseOf(row), inputs, results: JSON.parse(row.results) as Job.Job["results"] }
  }

  /**
   * The revision-guarded `UPDATE`, also under a fencing token when `claim` is given: answers the written job, or
   * `undefined` when it changed nothing. The inputs are never written: the row keeps those of its create, and sends
   * them back only when the caller's object is not known to be them (see knownInputs). A job leaving the held
   * statuses forgets its owner (its claim is over); the claim count stays.
   */
  const guardedUpdate = (
    operation: string,
    expectedRevision: number,
    next: Job.Job,
    claim: JobQueue.Claim | undefined
  ) =>
    Effect.gen(function* () {
      const row = changing(next)
      const set = Object.keys(row).map((column, i) => `${column} = $${i + 6}`)
      const status = `$${Object.keys(row).indexOf("status") + 6}`
      const fence = claim === undefined ? [] : [claim.owner, claim.number]
      const now = yield* Clock.currentTimeMillis
      // The change's callback goes in with it, by the same statement, if the stored job has a subscriber.
      const out = Callback.outgoing(next)
      const at = 6 + set.length + fence.length
      const update = `UPDATE ${jobs} SET revision = $2 + 1, ${set.join(", ")},
           owner = CASE WHEN ${status} = ANY($5::text[]) THEN owner ELSE NULL END
         WHERE id = $1 AND revision = $2 AND status = ANY($3::text[])
           ${claim === undefined ? "" : `AND status = ANY($5::text[]) AND owner = $${set.length + 6} AND claims = $${set.length + 7}`}
         RETURNING seq, subscriber, CASE WHEN seq = $4 THEN NULL ELSE inputs END AS inputs`
      const result = yield* db.query<{ seq: number; subscriber: string | null; inputs: string | null }>(
        operation,
        out === undefined
          ? update
          : `WITH u AS (${update}),
             c AS (INSERT INTO ${callbacks} (job_id, event, uri, body, status, created, next_attempt)
               SELECT $1, $${at}, $${at + 1}, $${at + 2}, 'pending', $${at + 3}, $${at + 3} FROM u
               WHERE u.subscriber IS NOT NULL ON CONFLICT (job_id, event) DO NOTHING)
             SELECT seq, subscriber, inputs FROM u`,
        [
          next.id,
          expectedRevision,
          allowedBefore(next.status),
          knownInputs.get(next.inputs) ?? null,
          held,
          ...Object.values(row),
          ...fence,
          ...(out === undefined ? [] : [out.event, out.uri, out.body, now])
        ]
      )
      const written = result.rows[0]
      if (written === undefined) return undefined
      const inputs = written.inputs === null ? next.inputs : (JSON.parse(written.inputs) as Job.Job["inputs"])
      knownInputs.set(inputs, written.seq)
      const { subscriber: _s, ...rest } = next
      const answer: Job.Job =
        written.subscriber === null
          ? { ...rest, inputs, revision: expectedRevision + 1 }
          : {
              ...rest,
              inputs,
              revision: expectedRevision + 1,
              subscriber: JSON.parse(written.subscriber) as Callback.Subscriber
            }
      // A caller that handed over the job without its subscriber: its callback, right after (not lost).
      if (out === undefined) yield* insertCallbacks(db, [answer], now)
      return answer
    })

  interface Version {
    readonly status: JobStatus.JobStatus
    readonly revision: number
    readonly owner: string | null
    readonly claims: number
  }
  const versionOf = (operation: string, id: string) =>
    Effect.map(
      db.query<Version>(operation, `SELECT status, revision, owner, claims FROM ${jobs} WHERE id = $1`, [id]),
      (result) => result.rows[0]
    )
  /** Why an update changed nothing, from what is stored (another writer may have moved it; any answer is honest). */
  const refused = (stored: Version | undefined, expectedRevision: number, next: Job.Job) =>
    stored === undefined
      ? new JobError.NoSuchJob({ jobId: next.id })
      : (JobStore.updateProblem({ id: next.id, ...stored }, expectedRevision, next) ??
        new JobError.StaleRevision({ jobId: next.id, expected: expectedRevision, actual: stored.revision }))

  const store: JobStore.JobStoreShape = {
    create: (job) => {
      const row = { ...fixed(job), ...changing(job) }
      const columns = Object.keys(row)
      return db
        .query<{ seq: number }>(
          "create",
          `INSERT INTO ${jobs} (${columns.join(", ")}) VALUES (${placeholders(columns.length)}) RETURNING seq`,
          Object.values(row)
        )
        .pipe(
          Effect.map((result) => {
            const seq = result.rows[0]?.seq
            if (seq !== undefined) knownInputs.set(job.inputs, seq)
            return job
          }),
          Effect.catchIf(
            (e): e is JobError.JobStoreError => PgDatabase.isUniqueViolation(e.cause, "jobs_id_unique"),
            () => Effect.fail(new JobError.DuplicateJob({ jobId: job.id }))
          )
        )
    },
    get: (id) =>
      Effect.flatMap(db.query<JobRow>("get", `SELECT ${jobList} FROM ${jobs} WHERE id = $1`, [id]), (result) => {
        const row = result.rows[0]
        return row === undefined ? Effect.fail(new JobError.NoSuchJob({ jobId: id })) : Effect.succeed(toJob(row))
      }),
    getSummary: (id) =>
      Effect.flatMap(
        db.query<SummaryRow>("get summary", `SELECT ${summaryList} FROM ${jobs} WHERE id = $1`, [id]),
        (result) => {
          const row = result.rows[0]
          return row === undefined ? Effect.fail(new JobError.NoSuchJob({ jobId: id })) : Effect.succeed(summaryOf(row))
        }
      ),
    update: (expectedRevision, next) =>
      Effect.gen(function* () {
        const written = yield* guardedUpdate("update", expectedRevision, next, undefined)
        if (written !== undefined) return written
        return yield* refused(yield* versionOf("update", next.id), expectedRevision, next)
      }),
    query: (query) =>
      Effect.gen(function* () {
        const q = yield* JobStore.normalizeQuery(query)
        const where: Array<string> = []
        const values: Array<unknown> = []
        const param = (value: unknown) => {
          values.push(value)
          return `$${values.length}`
        }
        if (q.service !== undefined) {
          where.push(`name = ${param(q.service.name)} AND folder = ${param(folderOf(q.service))}`)
        }
        if (q.statuses !== undefined) where.push(`status = ANY(${param(q.statuses)}::text[])`)
        if (q.user !== undefined) where.push(`username = ${param(q.user)}`)
        if (q.createdFrom !== undefined) where.push(`created >= ${param(q.createdFrom)}`)
        if (q.createdTo !== undefined) where.push(`created <= ${param(q.createdTo)}`)
        const filter = where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`
        const direction = q.order === "oldest" ? "ASC" : "DESC"
        const total = (yield* db.query<{ n: number }>("query", `SELECT count(*) AS n FROM ${jobs} ${filter}`, [
          ...values
        ])).rows[0]?.n
        const rows = yield* db.query<SummaryRow>(
          "query",
          `SELECT ${summaryList} FROM ${jobs} ${filter} ORDER BY created ${direction}, seq ${direction}
           LIMIT ${param(q.number)} OFFSET ${param(q.start - 1)}`,
          values
        )
        return JobStore.page(q, total ?? 0, rows.rows.map(summaryOf))
      }),
    delete: (id) =>
      Effect.flatMap(
        // Its pending callbacks are still delivered (a dismissed job's `failed` among them); the others go with it.
        db.query<{ n: number }>(
          "delete",
          `WITH d AS (DELETE FROM ${jobs} WHERE id = $1 RETURNING id),
           c AS (DELETE FROM ${callbacks} WHERE job_id IN (SELECT id FROM d) AND status <> 'pending')
           SELECT count(*)::int AS n FROM d`,
          [id]
        ),
        (result) => (result.rows[0]?.n === 1 ? Effect.void : Effect.fail(new JobError.NoSuchJob({ jobId: id })))
      )
  }

  const claimedStatus: JobStatus.JobStatus = "Executing"

  const claim = (request: JobQueue.ClaimRequest) =>
    db.transaction("claim", (tx) =>
      Effect.gen(function* () {
        // Each service once, at the limit the request gives it (JobQueue.limitOf: the first entry that names it).
        const services = new Map<string, { name: string; folder: string; max: number }>()
        for (const { service } of request.limits) {
          const key = `${folderOf(service)}/${service.name}`
          if (!services.has(key)) {
            services.set(key, {
              name: service.name,
              folder: folderOf(service),
              max: JobQueue.limitOf(request, service)
            })
          }
        }
        const open = [...services.values()].filter((s) => s.max > 0)
        if (open.length === 0) return []
        // Lock every service that has a queued job, in the order of the lock keys (so two claimers never wait on each
        // other in a cycle). A claimer of the same service waits here until the holder has committed, so the count
        // below — a later statement, with a later snapshot — includes every job the holder started.
        const locked = yield* tx.query<{ name: string; folder: string; max: number }>(
          "claim",
          `SELECT name, folder, max, pg_advisory_xact_lock($1, k) FROM (
             SELECT s.name, s.folder, s.max, hashtext($2 || '/' || s.folder || '/' || s.name) AS k
             FROM unnest($3::text[], $4::text[], $5::int[]) AS s(name, folder, max)
             WHERE EXISTS (SELECT 1 FROM ${jobs} j WHERE j.status IN (${claimableList}) AND j.name = s.name
               AND j.folder = s.folder)
             ORDER BY k) AS candidates`,
          [claimLockSpace, db.schema, open.map((s) => s.name), open.map((s) => s.folder), open.map((s) => s.max)]
        )
        if (locked.rows.length === 0) return []
        // The start time is read once the locks are held, not before: a claim that waited on another node's lock
        // picks jobs submitted during its wait, and a start before the submission would show in their documents
        // (measured with three nodes at 200 jobs/s: submit→Executing p50 -30 ms when read before the wait). On
        // machines whose clocks disagree, `greatest` below still keeps every start at or after its submission.
        const now = yield* Clock.currentTimeMillis
        // Per locked service: its room (limit minus held jobs), then its oldest queued jobs up to that room, rows
        // another transaction is changing skipped; of those, the oldest `max` across services move to Executing.
        const claimed = yield* tx.query<JobRow & { claims: number }>(
          "claim",
          `WITH s AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS s(name, folder, max)),
           load AS (
             SELECT j.name, j.folder, count(*)::int AS n FROM ${jobs} j JOIN s ON j.name = s.name AND j.folder = s.folder
             WHERE j.status IN (${heldList}) GROUP BY j.name, j.folder),
           picked AS (
             SELECT q.seq, q.created FROM s LEFT JOIN load ON load.name = s.name AND load.folder = s.folder
             CROSS JOIN LATERAL (
               SELECT j.seq, j.created FROM ${jobs} j
               WHERE j.status IN (${claimableList}) AND j.name = s.name AND j.folder = s.folder
               ORDER BY j.created, j.seq LIMIT greatest(s.max - coalesce(load.n, 0), 0)
               FOR UPDATE SKIP LOCKED) AS q
             ORDER BY q.created, q.seq LIMIT $4)
           UPDATE ${jobs} AS j SET status = $5, started = greatest($6::bigint, j.created), ended = NULL, revision = j.revision + 1, owner = $7,
             claims = j.claims + 1
           FROM picked WHERE j.seq = picked.seq
           RETURNING ${list(jobColumns, "j")}, j.claims`,
          [
            locked.rows.map((s) => s.name),
            locked.rows.map((s) => s.folder),
            locked.rows.map((s) => s.max),
            request.max,
            claimedStatus,
            now,
            request.owner
          ]
        )
        // RETURNING has no order: FIFO as the queue is.
        const result = [...claimed.rows]
          .sort((a, b) => a.created - b.created || a.seq - b.seq)
          .map((row): JobQueue.Claimed => ({ job: toJob(row), claim: { owner: request.owner, number: row.claims } }))
        // Their inProgress callbacks, in the claim's transaction.
        yield* insertCallbacks(
          tx,
          result.map((c) => c.job),
          now
        )
        return result
      })
    )

  const queue: JobQueue.JobQueueShape = {
    claim: (request) => (request.max <= 0 ? Effect.succeed([]) : claim(request)),
    updateClaimed: (claim, expectedRevision, next) =>
      Effect.gen(function* () {
        const written = yield* guardedUpdate("update claimed", expectedRevision, next, claim)
        if (written !== undefined) return written
        // A lost claim first: its writer must stop, not retry at the stored revision.
        const stored = yield* versionOf("update claimed", next.id)
        const lost = stored === undefined ? undefined : JobQueue.claimProblem({ id: next.id, ...stored }, claim)
        return yield* lost ?? refused(stored, expectedRevision, next)
      }),
    claimsOf: (owner) =>
      Effect.map(
        db.query<{ id: string; claims: number }>(
          "claimsOf",
          `SELECT id, claims FROM ${jobs} WHERE owner = $1 AND status = ANY($2::text[]) ORDER BY created, seq`,
          [owner, held]
        ),
        (result) => result.rows.map((r) => ({ jobId: r.id, claim: { owner, number: r.claims } }))
      ),
    heartbeat: (owner, now) =>
      Effect.asVoid(
        db.query(
          "heartbeat",
          `INSERT INTO ${engines} (id, node, host, pid, seen) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET node = excluded.node, host = excluded.host, pid = excluded.pid,
             seen = excluded.seen`,
          [owner.id, owner.node, owner.host, owner.pid, now]
        )
      ),
    release: (id) => Effect.asVoid(db.query("release", `DELETE FROM ${engines} WHERE id = $1`, [id])),
    forget: (owner) =>
      Effect.map(
        db.query(
          "forget",
          `DELETE FROM ${engines} e WHERE e.id = $1 AND e.seen = $2
           AND NOT EXISTS (SELECT 1 FROM ${jobs} j WHERE j.owner = e.id AND j.status IN (${heldList}))`,
          [owner.id, owner.seen]
        ),
        (result) => (result.rowCount ?? 0) > 0
      ),
    owners: Effect.map(
      db.query<JobQueue.Owner>("owners", `SELECT id, node, host, pid, seen FROM ${engines} ORDER BY id COLLATE "C"`),
      (result) => result.rows.map((r) => ({ id: r.id, node: r.node, host: r.host, pid: r.pid, seen: r.seen }))
    ),
    orphans: (query) =>
      Effect.map(
        db.query<JobRow & { owner: string | null; claims: number; node: string | null }>(
          "orphans",
          `SELECT ${list(jobColumns, "j")}, j.owner, j.claims, e.node FROM ${jobs} j
           LEFT JOIN ${engines} e ON e.id = j.owner
           WHERE j.status IN (${heldList}) AND (j.owner IS NULL OR j.owner <> $1)
             AND (e.id IS NULL OR $2 - e.seen >= $3)
           ORDER BY j.created, j.seq`,
          [query.self, query.now, query.leaseMs]
        ),
        (result) =>
          result.rows.map(
            (row): JobQueue.Orphan => ({
              job: toJob(row),
              owner: row.owner,
              claim: row.owner === null ? null : { owner: row.owner, number: row.claims },
              attempts: row.claims,
              node: row.node
            })
          )
      ),
    expired: (now, limit) =>
      Effect.map(
        db.query<JobRow>(
          "expired",
          `SELECT ${jobList} FROM ${jobs} WHERE expires IS NOT NULL AND expires <= $1 AND status = ANY($2::text[])
           ORDER BY expires, seq LIMIT $3`,
          [now, terminal, limit]
        ),
        (result) => result.rows.map(toJob)
      ),
    countByStatus: (service?: JobUrls.ServicePath) =>
      Effect.map(
        service === undefined
          ? db.query<{ status: JobStatus.JobStatus; n: number }>(
              "countByStatus",
              `SELECT status, count(*) AS n FROM ${jobs} GROUP BY status`
            )
          : db.query<{ status: JobStatus.JobStatus; n: number }>(
              "countByStatus",
              `SELECT status, count(*) AS n FROM ${jobs} WHERE name = $1 AND folder = $2 GROUP BY status`,
              [service.name, folderOf(service)]
            ),
        (result) => Object.fromEntries(result.rows.map((r) => [r.status, r.n]))
      )
  }
  // --- the outbox's own operations -------------------------------------------------------------------------------
  const { deliveryColumns, fromRow: deliveryOf } = CallbackOutbox
  type DeliveryRow = CallbackOutbox.DeliveryRow
  const keyOfId = (id: string) => {
    const { job, event } = CallbackOutbox.keyOf(id)
    return [job, event] as const
  }
  // A finished callback of a job removed meanwhile is kept by nothing.
  const dropOrphaned = (operation: string, key: readonly [string, string]) =>
    db.query(
      operation,
      `DELETE FROM ${callbacks} WHERE job_id = $1 AND event = $2 AND status <> 'pending'
       AND NOT EXISTS (SELECT 1 FROM ${jobs} WHERE id = $1)`,
      [...key]
    )

  const outbox: CallbackOutbox.CallbackOutboxShape = {
    claimDue: (request) =>
      request.max <= 0
        ? Effect.succeed([])
        : Effect.map(
            db.query<DeliveryRow>(
              "claim callbacks",
              `UPDATE ${callbacks} AS c SET lease_owner = $1, lease_until = $2
               FROM (SELECT seq FROM ${callbacks} WHERE status = 'pending' AND next_attempt <= $3 AND lease_until <= $3
                 ORDER BY next_attempt, seq LIMIT $4 FOR UPDATE SKIP LOCKED) AS picked
               WHERE c.seq = picked.seq
               RETURNING ${deliveryColumns
                 .split(", ")
                 .map((col) => `c.${col}`)
                 .join(", ")}`,
              [request.owner, request.now + request.leaseMs, request.now, request.max]
            ),
            (result) => [...result.rows].sort((a, b) => a.next_attempt - b.next_attempt).map(deliveryOf)
          ),
    markDelivered: (id, at) => {
      const key = keyOfId(id)
      return db
        .query(
          "callback delivered",
          `UPDATE ${callbacks} SET status = 'delivered', attempts = attempts + 1, last_error = NULL, delivered = $3,
             lease_owner = NULL, lease_until = 0
           WHERE job_id = $1 AND event = $2 AND status = 'pending'`,
          [...key, at.now]
        )
        .pipe(Effect.andThen(dropOrphaned("callback delivered", key)), Effect.asVoid)
    },
    markFailed: (id, failure) => {
      const key = keyOfId(id)
      return db
        .query(
          "callback failed",
          `UPDATE ${callbacks} SET status = CASE WHEN $4::bigint IS NULL THEN 'failed' ELSE 'pending' END,
             attempts = attempts + $5, last_error = $6, next_attempt = coalesce($4::bigint, next_attempt),
             lease_owner = NULL, lease_until = 0
           WHERE job_id = $1 AND event = $2 AND status = 'pending' AND lease_owner = $3`,
          [...key, failure.owner, failure.nextAttempt, failure.attempted ? 1 : 0, failure.error]
        )
        .pipe(Effect.andThen(dropOrphaned("callback failed", key)), Effect.asVoid)
    },
    ofJob: (jobId) =>
      Effect.map(
        db.query<DeliveryRow>(
          "callbacks of a job",
          `SELECT ${deliveryColumns} FROM ${callbacks} WHERE job_id = $1 ORDER BY created, seq`,
          [jobId]
        ),
        (result) => result.rows.map(deliveryOf)
      )
  }
  return { store, queue, outbox }
}

/**
 * `JobStore` and `JobQueue` on one PostgreSQL schema (migrated at start); the pool ends when the layer is released.
 *
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<JobStore.JobStore | JobQueue.JobQueue | CallbackOutbox.CallbackOutbox, JobError.JobStoreError> =>
  Layer.effectContext(
    Effect.map(PgDatabase.acquire(options, migrations, storeError), (db) => {
      const { store, queue, outbox } = make(db)
      return Context.make(JobStore.JobStore, store).pipe(
        Context.add(JobQueue.JobQueue, queue),
        Context.add(CallbackOutbox.CallbackOutbox, outbox)
      )
    })
  )
