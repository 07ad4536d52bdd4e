/**
 * Queue signals on PostgreSQL, across every node of one database: triggers on the jobs table send a `NOTIFY` for each
 * signalled write (core's `JobQueue.signalledStatuses`) inside the writing transaction, so PostgreSQL delivers it
 * only once that transaction commits, and never for one rolled back. Each node keeps one dedicated listening
 * connection (not from a pool: a pooled connection's LISTEN would end with its checkout), `LISTEN`ing on its
 * schema's channel; when that connection breaks (a database restart, `pg_terminate_backend`, a network cut found by
 * the keep-alive ping) it sends `Resync` (from now on `crossProcess` is false: the engine polls at its fast rate),
 * reconnects at once and then with a growing backoff, and sends `Resync` again once it listens, since notifications
 * sent meanwhile are lost.
 *
 * Notifications do not pass through PgBouncer in transaction or statement mode: point `GEOJOBS_DATABASE_URL` at
 * PostgreSQL itself (or a session-mode pool).
 *
 * @module
 */
import { createHash } from "node:crypto"
import { JobError, JobQueue, JobStatus } from "@geojobs/core"
import { Deferred, Effect, Layer, PubSub, Ref } from "effect"
import pg from "pg"
import * as PgDatabase from "./PgDatabase.ts"

/**
 * How the listener behaves. Durations are milliseconds.
 *
 * @category models
 */
export interface ListenerOptions {
  /** The first wait before a reconnect (default 100); it doubles at every failed attempt. */
  readonly reconnectMinMs?: number | undefined
  /** The longest wait between reconnect attempts (default 5000). */
  readonly reconnectMaxMs?: number | undefined
  /** How often the listening connection is checked with a query (default 10000; a dead TCP peer is found so). */
  readonly pingMs?: number | undefined
  /** How long the layer waits at start for the first LISTEN before it goes on unconnected (default 10000). */
  readonly connectWaitMs?: number | undefined
}

/**
 * Where the database is, and the schema whose jobs are signalled.
 *
 * @category models
 */
export type Options = PgDatabase.Options & { readonly listener?: ListenerOptions | undefined }

/**
 * The migrations (after the job store's: the triggers are on its `jobs` table). The channel is derived from the
 * schema at run time (`TG_TABLE_SCHEMA`), so one function serves every schema of a database.
 *
 * @category models
 */
export const migrations: PgDatabase.Migrations = {
  component: "notifications",
  steps: [
    `CREATE FUNCTION geojobs_jobs_signal() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       channel text := 'geojobs_' || left(md5(TG_TABLE_SCHEMA), 16);
     BEGIN
       IF TG_OP = 'DELETE' THEN
         PERFORM pg_notify(channel, json_build_array('stop', OLD.id)::text);
         RETURN NULL;
       END IF;
       IF NEW.status IN (${PgDatabase.literals(JobQueue.signalledStatuses.work)}) THEN
         PERFORM pg_notify(channel, json_build_array('work', NEW.folder, NEW.name)::text);
       END IF;
       IF NEW.status IN (${PgDatabase.literals(JobQueue.signalledStatuses.stop)}) THEN
         PERFORM pg_notify(channel, json_build_array('stop', NEW.id)::text);
       END IF;
       RETURN NULL;
     END $$;
     CREATE TRIGGER jobs_signal_insert AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION geojobs_jobs_signal();
     -- progress and message writes leave the status as it was: no trigger call at all for them
     CREATE TRIGGER jobs_signal_update AFTER UPDATE OF status ON jobs FOR EACH ROW
       WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION geojobs_jobs_signal();
     -- the sweeper's deletes of finished jobs need no signal; a held job removed must stop
     CREATE TRIGGER jobs_signal_delete AFTER DELETE ON jobs FOR EACH ROW
       WHEN (OLD.status IN (${PgDatabase.literals(JobStatus.held)})) EXECUTE FUNCTION geojobs_jobs_signal();`
  ]
}

/**
 * The notification channel of a schema, as the trigger function names it (`geojobs_` and 16 hex digits of the md5 of
 * the schema's name: channels are database-wide identifiers of at most 63 bytes, schemas are not).
 *
 * @category constructors
 */
export const channelOf = (schema: string): string =>
  `geojobs_${createHash("md5").update(schema, "utf8").digest("hex").slice(0, 16)}`

/**
 * A notification's payload as a signal, or `undefined` when it is not one of ours.
 *
 * @category constructors
 */
export const signalOf = (payload: string | undefined): JobQueue.Signal | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload ?? "")
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  const [kind, a, b] = parsed as ReadonlyArray<unknown>
  if (kind === "work" && typeof a === "string" && typeof b === "string") {
    // The jobs table keeps a service at the root with folder ''.
    return { _tag: "Work", service: a === "" ? { name: b } : { folder: a, name: b } }
  }
  if (kind === "stop" && typeof a === "string") return { _tag: "Stop", jobId: a }
  return undefined
}

const storeError = (operation: string, cause: unknown) => new JobError.JobStoreError({ operation, cause })

const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message || cause.name : String(cause))

/**
 * The listener's connection settings: the pool's, with keep-alive on and `listener` added to the application name
 * (so an administrator tells it apart in `pg_stat_activity`).
 */
const clientConfig = (options: PgDatabase.Options): pg.ClientConfig => ({
  // The pool's waits, so that a network that stops answering is noticed here too: the connect and the pings fail
  // instead of waiting for good (without them, a frozen connection looked connected, and its ping never came back).
  ...PgDatabase.waits(options),
  ...options.pool,
  ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
  keepAlive: true,
  application_name: `${options.pool?.application_name ?? "geojobs"} listener`
})

/**
 * Closes a client without waiting on a peer that may never answer: its Terminate is sent and the socket destroyed
 * after a second if the server has not closed it by then.
 */
const close = (c: pg.Client): Promise<void> =>
  new Promise<void>((done) => {
    const timer = setTimeout(() => {
      c.connection.stream.destroy()
      done()
    }, 1_000)
    c.end()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer)
        done()
      })
  })

/**
 * `QueueSignals` on one PostgreSQL schema: its triggers migrated at start (after the job store's tables, so provide
 * this layer over `PgJobStore.layer`), one listening connection kept open until the layer is released.
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<JobQueue.QueueSignals, JobError.JobStoreError> =>
  Layer.effect(
    JobQueue.QueueSignals,
    Effect.gen(function* () {
      const schema = options.schema ?? "public"
      const channel = channelOf(schema)
      const reconnectMinMs = options.listener?.reconnectMinMs ?? 100
      const reconnectMaxMs = options.listener?.reconnectMaxMs ?? 5000
      const pingMs = options.listener?.pingMs ?? 10_000
      // The triggers; this layer needs no pool of its own (a pool kept for the migration held an idle connection past
      // what a node's pools and listener add up to: PoolSize.test.ts in apps/server counted it).
      yield* PgDatabase.migrateOn(options, migrations, storeError)
      const hub = yield* PubSub.unbounded<JobQueue.Signal>()
      yield* Effect.addFinalizer(() => PubSub.shutdown(hub))
      let connected = false
      const first = yield* Deferred.make<void>()
      const client = yield* Ref.make<pg.Client | undefined>(undefined)

      /** Opens a connection and LISTENs; answers the client once it listens. */
      const open = Effect.tryPromise({
        try: async () => {
          const c = new pg.Client(clientConfig(options))
          // A broken connection emits `error` (and then `end`); without a listener the error would end the process.
          c.on("error", () => {})
          c.on("notification", (message) => {
            if (message.channel !== channel) return
            const signal = signalOf(message.payload)
            if (signal !== undefined) PubSub.publishUnsafe(hub, signal)
          })
          try {
            await c.connect()
            await c.query(`LISTEN ${PgDatabase.ident(channel)}`)
            return c
          } catch (cause) {
            await close(c)
            throw cause
          }
        },
        catch: (cause) => storeError("listen", cause)
      })

      /** Waits until the connection breaks: it ended, or a ping failed. */
      const broken = (c: pg.Client) =>
        Effect.raceFirst(
          Effect.callback<string>((resume) => {
            const onEnd = () => resume(Effect.succeed("the connection ended"))
            const onError = (error: Error) => resume(Effect.succeed(describeCause(error)))
            c.once("end", onEnd)
            c.once("error", onError)
            return Effect.sync(() => {
              c.off("end", onEnd)
              c.off("error", onError)
            })
          }),
          Effect.tryPromise(() => c.query("SELECT 1")).pipe(
            Effect.delay(pingMs),
            Effect.forever,
            Effect.catch((error) => Effect.succeed(`a ping failed: ${describeCause(error.cause)}`))
          )
        )

      const listen = Effect.gen(function* () {
        let waitMs = reconnectMinMs
        let attempts = 0
        while (true) {
          const opened = yield* Effect.result(open)
          if (opened._tag === "Failure") {
            attempts++
            if (attempts === 1) {
              yield* Effect.logWarning(
                `PostgreSQL listener of schema ${schema} cannot connect (${describeCause(opened.failure.cause)}); ` +
                  "retrying, polling meanwhile"
              )
            }
            yield* Deferred.succeed(first, undefined)
            yield* Effect.sleep(waitMs)
            waitMs = Math.min(waitMs * 2, reconnectMaxMs)
            continue
          }
          const c = opened.success
          yield* Ref.set(client, c)
          connected = true
          waitMs = reconnectMinMs
          // Anything signalled while no connection listened is lost: every subscriber rechecks.
          if (yield* Deferred.isDone(first)) {
            PubSub.publishUnsafe(hub, { _tag: "Resync" })
            yield* Effect.logInfo(`PostgreSQL listener of schema ${schema} reconnected`)
          }
          yield* Deferred.succeed(first, undefined)
          attempts = 0
          const why = yield* broken(c)
          connected = false
          // From now on nothing is heard: subscribers poll at their fast rate until the reconnect's Resync.
          PubSub.publishUnsafe(hub, { _tag: "Resync" })
          yield* Ref.set(client, undefined)
          yield* Effect.promise(() => close(c))
          yield* Effect.logWarning(`PostgreSQL listener of schema ${schema} lost its connection (${why}); reconnecting`)
        }
      })
      // Added before the fork, so run after it is interrupted: the loop never sees this end as a broken connection.
      yield* Effect.addFinalizer(() =>
        Effect.flatMap(Ref.get(client), (c) => (c === undefined ? Effect.void : Effect.promise(() => close(c))))
      )
      yield* Effect.forkScoped(listen)
      // Subscribers made once the layer is built hear every later commit — unless the database could not be
      // reached at all, in which case the engine polls until the listener connects.
      yield* Deferred.await(first).pipe(Effect.timeoutOption(options.listener?.connectWaitMs ?? 10_000), Effect.asVoid)
      return JobQueue.QueueSignals.of({ subscribe: PubSub.subscribe(hub), crossProcess: () => connected })
    })
  )
