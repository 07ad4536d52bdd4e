/**
 * Sign-in throttling: failed sign-ins counted per username and per client address, across every place a password is
 * taken (every token URL and the HTML sign-in pages), with rate-limiter-flexible's in-memory limiters.
 *
 * Three counts, so that guessing is stopped without letting one caller lock out others:
 * - a username from one address: a few failures block that pair for a while (a typo-prone user waits; nobody else does);
 * - a username from any address: more failures block the username everywhere (a guess spread over many addresses);
 * - an address for any username: many failures block the address (one guesser trying many accounts).
 * The last two never hold a username at an address it has signed in from before: the account's owner is not locked
 * out by a guesser elsewhere, and the colleagues of a guesser behind the same NAT or proxy keep signing in.
 * A blocked attempt is refused before its password is checked. Counts live in the process: each node of a cluster
 * counts on its own (an attacker spread over N nodes gets N times the attempts, still a few per minute).
 *
 * @module
 */
import { Clock, Data, Effect } from "effect"
import { RateLimiterMemory } from "rate-limiter-flexible"

/** Too many failed sign-ins: try again after `retryAfterSeconds` (HTTP 429). @category errors */
export class TooManyAttempts extends Data.TaggedError("TooManyAttempts")<{ readonly retryAfterSeconds: number }> {
  override get message(): string {
    return `Too many failed sign-in attempts. Try again in ${this.retryAfterSeconds} seconds.`
  }
}

/** Limits: failures allowed within a window, and how long a block lasts. @category models */
export interface Limit {
  readonly failures: number
  readonly windowSeconds: number
  readonly blockSeconds: number
}

/** @category models */
export interface Options {
  readonly perUserAndAddress?: Limit | undefined
  readonly perUser?: Limit | undefined
  readonly perAddress?: Limit | undefined
  /** How long a successful sign-in makes a username "known" at an address, in seconds (default 30 days). */
  readonly rememberSeconds?: number | undefined
}

/**
 * The defaults: 5 failures a quarter hour per user and address, 20 an hour per user, 100 an hour per address; every
 * block 15 minutes. A person who mistypes four times is never stopped; a script gets about 20 guesses an hour at one
 * account.
 *
 * @category models
 */
export const defaults: { readonly [K in keyof Options]-?: NonNullable<Options[K]> } = {
  perUserAndAddress: { failures: 5, windowSeconds: 900, blockSeconds: 900 },
  perUser: { failures: 20, windowSeconds: 3600, blockSeconds: 900 },
  perAddress: { failures: 100, windowSeconds: 3600, blockSeconds: 900 },
  rememberSeconds: 30 * 86_400
}

/** @category models */
export interface SignInThrottle {
  /** Fails with `TooManyAttempts` when this username may not try from this address now. */
  readonly check: (username: string, address: string) => Effect.Effect<void, TooManyAttempts>
  readonly failed: (username: string, address: string) => Effect.Effect<void>
  readonly succeeded: (username: string, address: string) => Effect.Effect<void>
}

// Usernames compare case-insensitively here, so `Admin` and `admin` share a count whatever the store's rule.
const key = (...parts: ReadonlyArray<string>) => parts.map((p) => encodeURIComponent(p.toLowerCase())).join("|")

// Known (username, address) pairs, bounded so that a flood of sign-ins cannot grow memory without end.
const maxKnown = 100_000

/** @category constructors */
export const make = (options: Options = {}): SignInThrottle => {
  const limits: typeof defaults = {
    perUserAndAddress: options.perUserAndAddress ?? defaults.perUserAndAddress,
    perUser: options.perUser ?? defaults.perUser,
    perAddress: options.perAddress ?? defaults.perAddress,
    rememberSeconds: options.rememberSeconds ?? defaults.rememberSeconds
  }
  const limiter = (prefix: string, l: Limit) =>
    new RateLimiterMemory({ keyPrefix: prefix, points: l.failures, duration: l.windowSeconds, blockDuration: 0 })
  const pair = { limit: limits.perUserAndAddress, limiter: limiter("pair", limits.perUserAndAddress) }
  const user = { limit: limits.perUser, limiter: limiter("user", limits.perUser) }
  const address = { limit: limits.perAddress, limiter: limiter("address", limits.perAddress) }
  const known = new Map<string, number>()

  const isKnown = (k: string, now: number) => {
    const until = known.get(k)
    return until !== undefined && until > now
  }
  // How long this count still blocks, or 0.
  const blockedFor = (count: typeof pair, k: string) =>
    Effect.map(
      Effect.promise(() => count.limiter.get(k)),
      (res) => (res === null || res.consumedPoints < count.limit.failures ? 0 : res.msBeforeNext)
    )
  // One more failure; the one that reaches the limit blocks the key for `blockSeconds` from now.
  const count = (c: typeof pair, k: string) =>
    Effect.promise(async () => {
      const res = await c.limiter.penalty(k)
      if (res.consumedPoints >= c.limit.failures) await c.limiter.block(k, c.limit.blockSeconds)
    })

  return {
    check: (username, from) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // A username that signed in from this address before is held only by its own pair count: neither a guesser
        // elsewhere (per user) nor one behind the same address (per address) locks its owner out.
        const familiar = isKnown(key(username, from), now)
        const ms = Math.max(
          yield* blockedFor(pair, key(username, from)),
          familiar ? 0 : yield* blockedFor(user, key(username)),
          familiar ? 0 : yield* blockedFor(address, key(from))
        )
        if (ms > 0) return yield* new TooManyAttempts({ retryAfterSeconds: Math.ceil(ms / 1000) })
      }),
    failed: (username, from) =>
      Effect.asVoid(
        Effect.all([count(pair, key(username, from)), count(user, key(username)), count(address, key(from))], {
          concurrency: "unbounded"
        })
      ),
    succeeded: (username, from) =>
      Effect.gen(function* () {
        yield* Effect.promise(() => pair.limiter.delete(key(username, from)))
        const k = key(username, from)
        known.delete(k)
        known.set(k, (yield* Clock.currentTimeMillis) + limits.rememberSeconds * 1000)
        // A Map iterates in insertion order: the first key is the one remembered longest ago.
        if (known.size > maxKnown) known.delete(known.keys().next().value as string)
      })
  }
}
