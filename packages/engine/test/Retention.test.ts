import { assert, describe, it } from "@effect/vitest"
import * as Retention from "../src/Retention.ts"

describe("Retention.sweepsHere: one node sweeps for the cluster", () => {
  const lease = 10_000
  const now = 1_000_000
  const owners = [
    { id: "e-b", seen: now - 1000 },
    { id: "e-a", seen: now - 2000 },
    { id: "e-c", seen: now - 500 }
  ]
  it("the live owner whose id sorts first sweeps; the others do not", () => {
    assert.isTrue(Retention.sweepsHere(owners, "e-a", now, lease))
    assert.isFalse(Retention.sweepsHere(owners, "e-b", now, lease))
    assert.isFalse(Retention.sweepsHere(owners, "e-c", now, lease))
  })
  it("an owner past its lease counts for nothing: the next one takes the sweeps over", () => {
    const stale = [{ id: "e-a", seen: now - lease }, ...owners.filter((o) => o.id !== "e-a")]
    assert.isFalse(Retention.sweepsHere(stale, "e-a", now, lease))
    assert.isTrue(Retention.sweepsHere(stale, "e-b", now, lease))
  })
  it("with no live owner recorded (its first heartbeat not yet written), a process sweeps", () => {
    assert.isTrue(Retention.sweepsHere([], "e-z", now, lease))
    assert.isTrue(Retention.sweepsHere([{ id: "e-a", seen: 0 }], "e-z", now, lease))
  })
})
