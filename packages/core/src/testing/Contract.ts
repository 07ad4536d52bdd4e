/**
 * What the contract suites share: the `ContractViolation` a broken promise fails with, the checks that raise it, and
 * the sample services the cases use. Runner-agnostic, like the suites.
 *
 * @module
 */
import { Data, Effect } from "effect"
import type { ServiceRef } from "../ServiceRef.ts"
import { deriveServiceId } from "../ServiceRef.ts"

/**
 * A store broke the contract.
 *
 * @category errors
 */
export class ContractViolation extends Data.TaggedError("ContractViolation")<{ readonly expectation: string }> {
  override get message(): string {
    return `contract: ${this.expectation}`
  }
}

/** Fails with `expectation` unless `ok`. @category constructors */
export const expect = (ok: boolean, expectation: string): Effect.Effect<void, ContractViolation> =>
  ok ? Effect.void : Effect.fail(new ContractViolation({ expectation }))

/** Canonical JSON: object keys sorted, so stores may rebuild objects in any key order. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )

/** Fails unless `a` and `b` are the same JSON (object keys in any order). @category constructors */
export const same = (a: unknown, b: unknown, what: string) =>
  expect(canonical(a) === canonical(b), `${what}: expected ${canonical(b)}, got ${canonical(a)}`)

/** Fails unless `effect` fails with an error tagged `tag`. @category constructors */
export const failsWith = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>,
  tag: string,
  what: string
): Effect.Effect<void, ContractViolation, R> =>
  Effect.flatMap(Effect.result(effect), (result) =>
    result._tag === "Failure" && result.failure._tag === tag
      ? Effect.void
      : Effect.fail(
          new ContractViolation({
            expectation: `${what} should fail with ${tag}, got ${result._tag === "Failure" ? result.failure._tag : "success"}`
          })
        )
  )

export const geometry: ServiceRef = {
  folder: "Analysis",
  name: "Geometry",
  type: "GPServer",
  serviceId: deriveServiceId("Analysis", "Geometry")
}
export const utilities: ServiceRef = {
  folder: "System",
  name: "Utilities",
  type: "GPServer",
  serviceId: deriveServiceId("System", "Utilities")
}
export const unicode: ServiceRef = {
  folder: "Projekte Süd",
  name: "Straßen Puffer",
  type: "GPServer",
  serviceId: deriveServiceId("Projekte Süd", "Straßen Puffer")
}
