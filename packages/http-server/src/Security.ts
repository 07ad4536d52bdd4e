/**
 * Roles, privileges and the access rules of GeoJobs, after ArcGIS's model (arcgis-api.md §2.7, §10.2): built-in roles
 * administrator, publisher, user and viewer, custom roles built from the privilege list, per-service access (public or
 * listed roles), the seed's job pages for the Geoprocessing (or Feature layer) privilege or the Publisher or
 * Administrator role, and destructive job operations for administrators. Pure rules; sign-in and tokens are `Accounts`.
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
