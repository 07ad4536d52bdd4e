/**
 * Roles, privileges and the access rules of GeoJobs, after ArcGIS's model (arcgis-api.md §2.7, §10.2): built-in roles
 * administrator, publisher, user and viewer, custom roles built from the privilege list, per-service access (public or
 * listed roles), the seed's job pages for the Geoprocessing (or Feature layer) privilege or the Publisher or
 * Administrator role, destructive job operations for administrators, and who may see and cancel a job (below). Pure
 * rules; sign-in and tokens are `Accounts`.
 *
 * Job ownership: a job submitted by a signed-in user belongs to that user. The owner sees and cancels it; so do
 * administrators and roles with `manageJobs`; roles with `viewJobs` (publishers) see it. Everyone else gets the answer
 * for a job that does not exist, so ids of other users' jobs cannot be told apart from unknown ones. A job submitted
 * anonymously (to a public service) follows ArcGIS's model: its unguessable id is the capability, so whoever holds it
 * may read and cancel it; listing jobs is what needs a right. In the admin job API, callers see only services they
 * may use, and without `viewJobs` or `manageJobs` only their own jobs.
 *
 * @module
 */

/**
 * The privileges a role can hold.
 *
 * @category models
 */
export const privileges = ["geoprocessing", "featureLayer", "viewJobs", "manageJobs", "publish", "manageUsers"] as const

/** @category models */
export type Privilege = (typeof privileges)[number]

/**
 * The built-in roles and their privileges.
 *
 * @category models
 */
export const builtinRoles: Readonly<Record<string, ReadonlyArray<Privilege>>> = {
  administrator: privileges,
  publisher: ["geoprocessing", "featureLayer", "viewJobs", "publish"],
  user: ["geoprocessing"],
  viewer: []
}

/**
 * A signed-in caller.
 *
 * @category models
 */
export interface Principal {
  readonly username: string
  readonly role: string
  readonly privileges: ReadonlySet<Privilege>
}

/** @category guards */
export const isPrivilege = (u: string): u is Privilege => (privileges as ReadonlyArray<string>).includes(u)

const isAdministrator = (p: Principal | null) => p?.role === "administrator"

/**
 * Whether the caller may use a service: anyone for a public one; the listed roles (and administrators) otherwise.
 *
 * @category guards
 */
export const canUseService = (
  p: Principal | null,
  access: "public" | { readonly roles: ReadonlyArray<string> }
): boolean => access === "public" || (p !== null && (isAdministrator(p) || access.roles.includes(p.role)))

/**
 * The seed's job pages: the Geoprocessing or Feature layer privilege, or the Publisher or Administrator role.
 *
 * @category guards
 */
export const canReadAdminJobs = (p: Principal | null): boolean =>
  p !== null &&
  (p.privileges.has("geoprocessing") ||
    p.privileges.has("featureLayer") ||
    p.privileges.has("viewJobs") ||
    p.role === "publisher" ||
    isAdministrator(p))

/**
 * Cancelling, deleting and purging any job: administrators (or a custom role with manageJobs).
 *
 * @category guards
 */
export const canManageJobs = (p: Principal | null): boolean =>
  p !== null && (isAdministrator(p) || p.privileges.has("manageJobs"))

/**
 * Managing users and roles: administrators (or a custom role with manageUsers).
 *
 * @category guards
 */
export const canManageUsers = (p: Principal | null): boolean =>
  p !== null && (isAdministrator(p) || p.privileges.has("manageUsers"))

/**
 * Seeing every user's jobs (the admin query unrestricted, others' job documents): administrators, or a role with
 * viewJobs or manageJobs.
 *
 * @category guards
 */
export const canViewAllJobs = (p: Principal | null): boolean =>
  p !== null && (isAdministrator(p) || p.privileges.has("viewJobs") || p.privileges.has("manageJobs"))

/**
 * Reading a job (its document, inputs, results and files) submitted by `owner` (`null`: anonymously): the owner and
 * callers who see all jobs; an anonymous job to whoever holds its id.
 *
 * @category guards
 */
export const canReadJob = (p: Principal | null, owner: string | null): boolean =>
  owner === null || p?.username === owner || canViewAllJobs(p)

/**
 * Cancelling a job submitted by `owner` through the REST API: the owner and job managers; an anonymous job to
 * whoever holds its id.
 *
 * @category guards
 */
export const canCancelJob = (p: Principal | null, owner: string | null): boolean =>
  owner === null || p?.username === owner || canManageJobs(p)

/**
 * A job in the admin job API: every job for callers who see all jobs, otherwise only their own (anonymous jobs are
 * listed and shown to those who see all jobs only).
 *
 * @category guards
 */
export const canSeeInAdmin = (p: Principal, owner: string | null): boolean =>
  canViewAllJobs(p) || (owner !== null && p.username === owner)
