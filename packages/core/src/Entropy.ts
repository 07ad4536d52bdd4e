/**
 * The source of random bytes behind job ids. Production uses the platform's cryptographic generator (Web Crypto, in
 * Node and browsers alike); tests provide a seeded layer so ids, and everything rendered from them, are deterministic.
 *
 * @module
 */
import { Context, Effect, Layer } from "effect"

// Core is built without DOM or Node typings; Web Crypto is on globalThis in both Node and browsers.
const webCrypto = (globalThis as unknown as { crypto: { getRandomValues: (array: Uint8Array) => Uint8Array } }).crypto

/**
 * Random bytes on demand.
 *
 * @category services
 */
export class Entropy extends Context.Service<
  Entropy,
  {
    readonly bytes: (n: number) => Effect.Effect<Uint8Array>
  }
>()("@geojobs/core/Entropy") {
  /**
   * Cryptographically random bytes from Web Crypto's `getRandomValues`.
   *
   * @category layers
   */
  static readonly layer: Layer.Layer<Entropy> = Layer.succeed(
    Entropy,
    Entropy.of({ bytes: (n) => Effect.sync(() => webCrypto.getRandomValues(new Uint8Array(n))) })
  )

  /**
   * A deterministic generator (xorshift32 from `seed`) for tests. Never use it to issue real ids.
   *
   * @category layers
   */
  static readonly layerSeeded = (seed: number): Layer.Layer<Entropy> =>
    Layer.sync(Entropy, () => {
      let state = seed >>> 0 || 0x9e3779b9
      const next = () => {
        state ^= state << 13
        state >>>= 0
        state ^= state >>> 17
        state ^= state << 5
        state >>>= 0
        return state & 0xff
      }
      return Entropy.of({ bytes: (n) => Effect.sync(() => Uint8Array.from({ length: n }, next)) })
    })
}
