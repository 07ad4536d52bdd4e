import { assert, describe, it } from "@effect/vitest"
import {
  builtinRoles,
  canCancelJob,
  canManageJobs,
  canManageUsers,
  canReadAdminJobs,
  canReadJob,
  canSeeInAdmin,
  canUseService,
  canViewAllJobs,
  isPrivilege,
  type Principal,
  type Privilege,
  privileges
} from "../src/Security.ts"

const as = (role: string, held: ReadonlyArray<Privilege> = builtinRoles[role] ?? []): Principal => ({
  username: `a-${role}`,
  role,
  privileges: new Set(held)
})

const administrator = as("administrator")
const publisher = as("publisher")
const user = as("user")
const viewer = as("viewer")
/** Custom roles, named so that no rule can pass them by role name. */
const featureEditor = as("featureEditor", ["featureLayer"])
const jobWatcher = as("jobWatcher", ["viewJobs"])
const jobManager = as("jobManager", ["manageJobs"])
const userManager = as("userManager", ["manageUsers"])
const publishOnly = as("publishOnly", ["publish"])
/** A stored publisher whose privilege list is empty still counts as Publisher (the seed names the role). */
const barePublisher = as("publisher", [])

const callers = {
  anonymous: null,
  administrator,
  publisher,
  user,
  viewer,
  featureEditor,
  jobWatcher,
  jobManager,
  userManager,
  publishOnly,
  barePublisher
} as const satisfies Record<string, Principal | null>

type Caller = keyof typeof callers

/** Table-driven: every caller must have an expected answer (the type makes a missing row a compile error). */
const check = (ruleName: string, rule: (p: Principal | null) => boolean, expected: Record<Caller, boolean>) => {
  for (const [name, p] of Object.entries(callers) as Array<[Caller, Principal | null]>) {
    assert.strictEqual(rule(p), expected[name], `${ruleName} for ${name}`)
  }
}

describe("privileges and built-in roles", () => {
  it("lists exactly the six privileges", () => {
    assert.deepStrictEqual(
      [...privileges],
      ["geoprocessing", "featureLayer", "viewJobs", "manageJobs", "publish", "manageUsers"]
    )
    assert.isTrue(isPrivilege("manageJobs"))
    assert.isFalse(isPrivilege("root"))
  })

  it("gives the built-in roles their privileges", () => {
    assert.sameMembers([...(builtinRoles.administrator ?? [])], [...privileges])
    assert.sameMembers([...(builtinRoles.publisher ?? [])], ["geoprocessing", "featureLayer", "viewJobs", "publish"])
    assert.deepStrictEqual(builtinRoles.user, ["geoprocessing"])
    assert.deepStrictEqual(builtinRoles.viewer, [])
    assert.sameMembers(Object.keys(builtinRoles), ["administrator", "publisher", "user", "viewer"])
  })
})

describe("access rules", () => {
  it("canUseService: public services for everyone, anonymous included", () => {
    const everyone = Object.fromEntries(Object.keys(callers).map((name) => [name, true])) as Record<Caller, boolean>
    check("public", (p) => canUseService(p, "public"), everyone)
  })

  it("canUseService: listed roles, and administrators always", () => {
    const access = { roles: ["publisher", "jobWatcher"] }
    check("listed roles", (p) => canUseService(p, access), {
      anonymous: false,
      administrator: true,
      publisher: true,
      user: false,
      viewer: false,
      featureEditor: false,
      jobWatcher: true,
      jobManager: false,
      userManager: false,
      publishOnly: false,
      barePublisher: true
    })
    // An empty list leaves the service to administrators.
    assert.isTrue(canUseService(administrator, { roles: [] }))
    assert.isFalse(canUseService(publisher, { roles: [] }))
  })

  it("canReadAdminJobs: Geoprocessing or Feature layer (or viewJobs), or the Publisher or Administrator role", () => {
    check("canReadAdminJobs", canReadAdminJobs, {
      anonymous: false,
      administrator: true,
      publisher: true,
      user: true,
      viewer: false,
      featureEditor: true,
      jobWatcher: true,
      jobManager: false,
      userManager: false,
      publishOnly: false,
      barePublisher: true
    })
  })

  it("canManageJobs: administrators or the manageJobs privilege", () => {
    check("canManageJobs", canManageJobs, {
      anonymous: false,
      administrator: true,
      publisher: false,
      user: false,
      viewer: false,
      featureEditor: false,
      jobWatcher: false,
      jobManager: true,
      userManager: false,
      publishOnly: false,
      barePublisher: false
    })
    // The role itself counts, whatever the stored privilege list says.
    assert.isTrue(canManageJobs(as("administrator", [])))
  })

  it("canManageUsers: administrators or the manageUsers privilege", () => {
    check("canManageUsers", canManageUsers, {
      anonymous: false,
      administrator: true,
      publisher: false,
      user: false,
      viewer: false,
      featureEditor: false,
      jobWatcher: false,
      jobManager: false,
      userManager: true,
      publishOnly: false,
      barePublisher: false
    })
    assert.isTrue(canManageUsers(as("administrator", [])))
  })

  it("canViewAllJobs: administrators, or the viewJobs or manageJobs privilege", () => {
    check("canViewAllJobs", canViewAllJobs, {
      anonymous: false,
      administrator: true,
      publisher: true,
      user: false,
      viewer: false,
      featureEditor: false,
      jobWatcher: true,
      jobManager: true,
      userManager: false,
      publishOnly: false,
      barePublisher: false
    })
  })
})

describe("job ownership", () => {
  const owner = "a-user"
  it("canReadJob: a user's job for its owner and those who see all jobs; an anonymous job for whoever has its id", () => {
    check("canReadJob(owned)", (p) => canReadJob(p, owner), {
      anonymous: false,
      administrator: true,
      publisher: true,
      user: true,
      viewer: false,
      featureEditor: false,
      jobWatcher: true,
      jobManager: true,
      userManager: false,
      publishOnly: false,
      barePublisher: false
    })
    for (const p of Object.values(callers)) assert.isTrue(canReadJob(p, null))
  })

  it("canCancelJob: a user's job for its owner and job managers; an anonymous job for whoever has its id", () => {
    check("canCancelJob(owned)", (p) => canCancelJob(p, owner), {
      anonymous: false,
      administrator: true,
      publisher: false,
      user: true,
      viewer: false,
      featureEditor: false,
      jobWatcher: false,
      jobManager: true,
      userManager: false,
      publishOnly: false,
      barePublisher: false
    })
    for (const p of Object.values(callers)) assert.isTrue(canCancelJob(p, null))
  })

  it("canSeeInAdmin: every job for those who see all jobs, otherwise only one's own (never anonymous jobs)", () => {
    for (const [name, p] of Object.entries(callers)) {
      if (p === null) continue
      assert.strictEqual(canSeeInAdmin(p, null), canViewAllJobs(p), `${name}, anonymous job`)
      assert.isTrue(canSeeInAdmin(p, p.username), `${name}, own job`)
      assert.strictEqual(canSeeInAdmin(p, "someone-else"), canViewAllJobs(p), `${name}, another's job`)
    }
  })
})
