/**
 * A thread pool for short work taken off a request's path — parsing a big body, decoding a big submission, writing a
 * result file: started by its first task, its threads gone after a while idle, below the main thread's priority from
 * their first instruction (`ThreadPriority.workerEntry`, nice 5: ahead of the tool threads at 10, as the work is on a
 * request's path) and few (the tool threads want the cores: one, two on a machine of eight cores or more).
 *
 * @module
 */
import { availableParallelism } from "node:os"
import { Piscina } from "piscina"
import * as ThreadPriority from "./ThreadPriority.ts"

/**
 * A lazily started pool; `destroy` ends its threads (and a later `run` starts a new pool).
 *
 * @category models
 */
export interface SidePool<T, R> {
  readonly run: (task: T, options?: { readonly transferList?: ReadonlyArray<ArrayBuffer> }) => Promise<R>
  readonly destroy: () => Promise<void>
}

/**
 * A side pool running `module`'s default export (an absolute URL).
 *
 * @category constructors
 */
export const make = <T, R>(
  module: string,
  options: { readonly maxThreads?: number; readonly idleTimeoutMs?: number } = {}
): SidePool<T, R> => {
  let pool: Piscina<T, R> | undefined
  return {
    run: (task, runOptions = {}) => {
      pool ??= new Piscina<T, R>({
        ...ThreadPriority.workerEntry(module, 5),
        minThreads: 0,
        maxThreads: options.maxThreads ?? Math.max(1, Math.min(2, Math.floor(availableParallelism() / 4))),
        idleTimeout: options.idleTimeoutMs ?? 30_000
      })
      return pool.run(task, runOptions.transferList === undefined ? {} : { transferList: [...runOptions.transferList] })
    },
    destroy: () => {
      const running = pool
      pool = undefined
      return running === undefined ? Promise.resolve() : running.destroy()
    }
  }
}
