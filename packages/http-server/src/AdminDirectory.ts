/**
 * The Administrator API directory above the job resources, after ArcGIS Server's (arcgis-api.md §2, §3): the root
 * `<context>/admin`, `admin/services` and its folders, each service's settings and status with `start`, `stop` and
 * `statistics`, `admin/security` with the users and roles pages (their operations are `TokenApi`'s; here they get
 * their HTML pages and forms), and the seed page's own sample request,
 * `rest/services/<folder>/<Name>.GPServer/jobs/<id>`, answered with the seed document. Every resource answers json, pjson and html (the default), each page linking to
 * the next; the HTML directory signs in at `admin/login` and keeps the token in the session's cookie, which its own
 * forms send in place of a body token. Everything here is for administrators: callers with neither manageJobs nor
 * manageUsers get 403 (499 without a token, 498 with a bad one), as on the other admin routes.
 *
 * @module
 */
import {
  type AdminQuery,
  ArcGISResource,
  type AdminDirectory as Docs,
  JobQueue,
  JobStatus,
  JobUrls,
  ServiceRef,
  Uploads
} from "@geojobs/core"
import { ServiceRegistry } from "@geojobs/engine"
import { Clock, Effect, Option } from "effect"
import { Accounts, TokenRequired } from "./Accounts.ts"
import * as AdminApi from "./AdminApi.ts"
import { MethodNotAllowed, NotFound } from "./Failure.ts"
import { type Answer, authorize, type Call, type Routes, signedIn, tokenInBodyOrSession } from "./Handler.ts"
import * as Html from "./Html.ts"
import { serviceAt } from "./RestApi.ts"
import * as Security from "./Security.ts"
import { ServiceControl, type Status } from "./ServiceControl.ts"
import * as TokenApi from "./TokenApi.ts"

const directory = "GeoJobs Administrator Directory"

/**
 * A call as the admin directory answers it: its pages' home is the admin root, and their sign-in and sign-out are
 * `admin/login` and `admin/logout` (the same session cookie as the services directory's).
 *
 * @category constructors
 */
export const adminCall = (c: Call): Call => ({
  ...c,
  home: ArcGISResource.url(c.base, { _tag: "AdminRoot" }),
  account: {
    signIn: ArcGISResource.url(c.base, { _tag: "SignIn", api: "admin" }),
    signOut: ArcGISResource.url(c.base, { _tag: "SignOut", api: "admin" })
  }
})

/** Any administrative privilege opens the directory (ArcGIS: "any authorized privilege"). */
const canAdminister = (p: Security.Principal | null): boolean => Security.canManageJobs(p) || Security.canManageUsers(p)

const administrator = Effect.fnUntraced(function* (c: Call) {
  // The Enterprise Administrator API: every POST carries its token in the body (or, from our forms, the session).
  if (c.request.method === "POST" && !tokenInBodyOrSession(c)) return yield* new TokenRequired()
  const p = yield* signedIn(c)
  yield* authorize(
    p,
    canAdminister(p),
    "The Administrator API directory needs the Administrator role (or the manageJobs or manageUsers privilege)."
  )
  return p
})

const userManager = Effect.fnUntraced(function* (c: Call) {
  const p = yield* administrator(c)
  yield* authorize(p, Security.canManageUsers(p), "Managing users and roles needs the Administrator role.")
  return p
})

const page = (c: Call, signedIn: string | undefined, options: Omit<Parameters<typeof Html.page>[0], "home">) =>
  Html.page({ signedIn, home: c.home, account: c.account, directory, ...options })

const html = (href: string): string => `${href}?f=html`

// A form of the directory: POSTed with the session cookie standing for the body token, answered with a page.
const form = (action: string, button: string, fields = ""): string =>
  `<form method="post" action="${Html.escapeHtml(action)}">${fields}<input type="hidden" name="f" value="html"><button>${Html.escapeHtml(button)}</button></form>`

const field = (label: string, name: string, attributes = ""): string =>
  `<label>${Html.escapeHtml(label)} <input name="${Html.escapeHtml(name)}"${attributes}></label>`

const select = (label: string, name: string, options: ReadonlyArray<string>, chosen?: string): string =>
  `<label>${Html.escapeHtml(label)} <select name="${Html.escapeHtml(name)}">${options
    .map((o) => `<option${o === chosen ? " selected" : ""}>${Html.escapeHtml(o)}</option>`)
    .join("")}</select></label>`

// ---------------------------------------------------------------------------------------------------------------
// the root

const root: Routes<"AdminRoot">["AdminRoot"] = Effect.fnUntraced(function* (c) {
  yield* administrator(c)
  const doc: Docs.Root = {
    currentVersion: c.settings.currentVersion,
    fullVersion: c.settings.fullVersion,
    resources: ["services", "machines", "uploads", "security"],
    operations: ["generateToken"]
  }
  const at = (resource: ArcGISResource.ArcGISResource) => ArcGISResource.url(c.base, resource)
  return {
    json: doc,
    html: (signedIn) =>
      page(c, signedIn, {
        title: "Administrator API",
        document: { currentVersion: doc.currentVersion, fullVersion: doc.fullVersion },
        links: [
          { href: at({ _tag: "AdminServices" }), text: "Services" },
          { href: at({ _tag: "AdminMachines" }), text: "Machines (the nodes of this site)" },
          { href: at({ _tag: "AdminUploads" }), text: "Uploads (every service's uploaded items)" },
          { href: at({ _tag: "AdminSecurity" }), text: "Security (users and roles)" },
          { href: at({ _tag: "Token", endpoint: "admin/generateToken" }), text: "Generate Token" },
          { href: at({ _tag: "Catalog" }), text: "The services directory (REST)" }
        ]
      })
  } satisfies Answer
})

// ---------------------------------------------------------------------------------------------------------------
// services and folders

const entry = (service: ServiceRegistry.ServiceDefinition, status: Status): Docs.ServiceEntry => ({
  folderName: service.ref.folder ?? "/",
  serviceName: service.ref.name,
  type: "GPServer",
  description: service.description,
  configuredState: status.status
})

const serviceUrl = (
  c: Call,
  ref: ServiceRef.ServicePath,
  operation: ArcGISResource.AdminServiceOperation = "service"
) => ArcGISResource.url(c.base, { _tag: "AdminService", service: ref, operation })

const listing = Effect.fnUntraced(function* (c: Call, folder: string | undefined) {
  const p = yield* administrator(c)
  const registry = yield* ServiceRegistry.ServiceRegistry
  if (folder !== undefined && !registry.services.some((s) => s.ref.folder === folder)) {
    return yield* new NotFound({ what: `Folder ${folder}` })
  }
  // Services the caller may not use are not shown (an administrator may use every one).
  const visible = registry.services.filter((s) => Security.canUseService(p, s.access))
  const statuses = yield* (yield* ServiceControl).statuses
  const statusOf = (s: ServiceRegistry.ServiceDefinition): Status =>
    statuses.get(ServiceRef.path(s.ref)) ?? { status: "STARTED" }
  const here = visible.filter((s) => s.ref.folder === folder)
  const folders =
    folder === undefined
      ? [...new Set(visible.flatMap((s) => (s.ref.folder === undefined ? [] : [s.ref.folder])))].sort()
      : []
  const doc: Docs.Services = {
    folderName: folder ?? "/",
    folders,
    services: here.map((s) => entry(s, statusOf(s)))
  }
  return {
    json: doc,
    html: (signedIn) =>
      page(c, signedIn, {
        title: folder === undefined ? "Services" : `Folder: ${folder}`,
        links: [
          ...folders.map((f) => ({
            href: ArcGISResource.url(c.base, { _tag: "AdminFolder", folder: f }),
            text: `${f} (folder)`
          })),
          ...here.map((s) => ({
            href: serviceUrl(c, s.ref),
            text: `${ServiceRef.path(s.ref)} (GPServer) — ${statusOf(s).status}`
          })),
          ...(folder === undefined
            ? []
            : [{ href: ArcGISResource.url(c.base, { _tag: "AdminServices" }), text: "All services" }])
        ]
      })
  } satisfies Answer
})

// The service a location names, for an administrator who may use it (else as missing, as the admin job API does).
const serviceFor = Effect.fnUntraced(function* (p: Security.Principal, path: ServiceRef.ServicePath) {
  const service = yield* serviceAt(path)
  if (!Security.canUseService(p, service.access)) {
    return yield* new NotFound({ what: `Service ${ServiceRef.path(path)}` })
  }
  return service
})

const serviceDoc = (service: ServiceRegistry.ServiceDefinition, status: Status): Docs.Service => ({
  folderName: service.ref.folder ?? "/",
  serviceName: service.ref.name,
  type: "GPServer",
  service_id: service.ref.serviceId,
  description: service.description,
  executionType: service.executionType === "sync" ? "esriExecutionTypeSynchronous" : "esriExecutionTypeAsynchronous",
  maxConcurrentJobs: service.maxConcurrentJobs,
  maxExecutionTime: service.maxExecutionTimeMs / 1000,
  maxUsageTime: service.maxExecutionTimeMs / 1000,
  jobRetention: service.jobRetentionMs / 1000,
  access: service.access === "public" ? "public" : { roles: [...service.access.roles] },
  private: service.access !== "public",
  tasks: [...service.tasks.keys()],
  configuredState: status.status,
  ...(status.changed === undefined ? {} : { statusChanged: status.changed }),
  ...(status.changedBy === undefined ? {} : { statusChangedBy: status.changedBy }),
  resources: ["jobs", "statistics"],
  operations: ["start", "stop"]
})

const servicePage =
  (c: Call, service: ServiceRegistry.ServiceDefinition, doc: Docs.Service) => (signedIn: string | undefined) =>
    page(c, signedIn, {
      title: `${ServiceRef.path(service.ref)} (GPServer) — ${doc.configuredState}`,
      document: doc,
      extra:
        doc.configuredState === "STARTED"
          ? `<p>The service takes new jobs.</p>${form(serviceUrl(c, service.ref, "stop"), "Stop the service")}`
          : `<p>The service takes no new jobs; jobs submitted before run to completion.</p>${form(serviceUrl(c, service.ref, "start"), "Start the service")}`,
      links: [
        {
          href: ArcGISResource.url(c.base, { _tag: "AdminJobs", service: service.ref, operation: "list" }),
          text: "Jobs"
        },
        { href: serviceUrl(c, service.ref, "statistics"), text: "Statistics" },
        { href: JobUrls.restService(c.base, service.ref), text: "The service in the services directory" },
        service.ref.folder === undefined
          ? { href: ArcGISResource.url(c.base, { _tag: "AdminServices" }), text: "Services" }
          : {
              href: ArcGISResource.url(c.base, { _tag: "AdminFolder", folder: service.ref.folder }),
              text: `Folder ${service.ref.folder}`
            }
      ]
    })

// Jobs by admin status word, and the buckets an administrator reads first; one count query, no job read.
const statistics = Effect.fnUntraced(function* (c: Call, service: ServiceRegistry.ServiceDefinition, status: Status) {
  const counts = yield* (yield* JobQueue.JobQueue).countByStatus(service.ref)
  const sum = (statuses: ReadonlyArray<JobStatus.JobStatus>) => statuses.reduce((n, s) => n + (counts[s] ?? 0), 0)
  const doc: Docs.Statistics = {
    folderName: service.ref.folder ?? "/",
    serviceName: service.ref.name,
    configuredState: status.status,
    total: sum(JobStatus.all),
    waiting: sum(JobStatus.queued),
    executing: sum(JobStatus.where((r) => r.ogc === "running")),
    succeeded: sum(JobStatus.inBucket("succeeded")),
    failed: sum(JobStatus.inBucket("failed")),
    cancelled: sum(JobStatus.inBucket("cancelled")),
    byStatus: Object.fromEntries(JobStatus.all.map((s) => [JobStatus.table[s].admin, counts[s] ?? 0]))
  }
  return {
    json: doc,
    html: (signedIn) =>
      page(c, signedIn, {
        title: `Statistics of ${ServiceRef.path(service.ref)}`,
        document: doc,
        links: [
          { href: serviceUrl(c, service.ref), text: ServiceRef.path(service.ref) },
          {
            href: ArcGISResource.url(c.base, { _tag: "AdminJobs", service: service.ref, operation: "list" }),
            text: "Jobs"
          }
        ]
      })
  } satisfies Answer
})

const adminService: Routes<"AdminService">["AdminService"] = Effect.fnUntraced(function* (c, resource) {
  const p = yield* administrator(c)
  const service = yield* serviceFor(p, resource.service)
  const control = yield* ServiceControl
  const operation = resource.operation
  if (operation === "service" || operation === "statistics") {
    const status = yield* control.statusOf(service.ref)
    if (operation === "statistics") return yield* statistics(c, service, status)
    const doc = serviceDoc(service, status)
    return { json: doc, html: servicePage(c, service, doc) } satisfies Answer
  }
  yield* authorize(
    p,
    Security.canManageJobs(p),
    "Starting and stopping services needs the Administrator role (or the manageJobs privilege)."
  )
  if (c.request.method !== "POST") {
    // A browser asking for the operation gets its form (ArcGIS's directory shows one per operation).
    if (c.format !== "html") return yield* new MethodNotAllowed({ operation })
    const action = operation === "start" ? "Start" : "Stop"
    return {
      html: (signedIn) =>
        page(c, signedIn, {
          title: `${action} ${ServiceRef.path(service.ref)}`,
          extra: form(serviceUrl(c, service.ref, operation), `${action} the service`),
          links: [{ href: serviceUrl(c, service.ref), text: ServiceRef.path(service.ref) }]
        })
    } satisfies Answer
  }
  yield* control.set(service.ref, operation === "start" ? "STARTED" : "STOPPED", p.username)
  return {
    json: { status: "success" } satisfies AdminQuery.Operation,
    redirect: c.format === "html" ? serviceUrl(c, service.ref) : undefined
  } satisfies Answer
})

// ---------------------------------------------------------------------------------------------------------------
// machines: the nodes sharing the store

const machines: Routes<"AdminMachines">["AdminMachines"] = Effect.fnUntraced(function* (c) {
  yield* administrator(c)
  const queue = yield* JobQueue.JobQueue
  const now = yield* Clock.currentTimeMillis
  const owners = yield* queue.owners
  const doc: Docs.Machines = {
    machines: yield* Effect.forEach(owners, (o) =>
      Effect.map(queue.claimsOf(o.id), (held): Docs.Machines["machines"][number] => ({
        machineName: o.node,
        nodeId: o.id,
        host: o.host,
        pid: o.pid,
        lastHeartbeat: o.seen,
        secondsSinceHeartbeat: Math.max(0, Math.round((now - o.seen) / 100) / 10),
        runningJobs: held.length
      }))
    )
  }
  return {
    json: doc,
    html: (signedIn) =>
      page(c, signedIn, {
        title: "Machines",
        document: {},
        extra: `<table><tr><th>machine</th><th>host</th><th>pid</th><th>last heartbeat</th><th>running jobs</th></tr>${doc.machines
          .map(
            (m) =>
              `<tr><td>${Html.escapeHtml(m.machineName)}</td><td>${Html.escapeHtml(m.host)}</td><td>${m.pid}</td><td>${new Date(m.lastHeartbeat).toISOString()} (${m.secondsSinceHeartbeat} s ago)</td><td>${m.runningJobs}</td></tr>`
          )
          .join("")}</table>`,
        links: []
      })
  } satisfies Answer
})

// ---------------------------------------------------------------------------------------------------------------
// uploads: every uploaded item

const uploads: Routes<"AdminUploads">["AdminUploads"] = Effect.fnUntraced(function* (c) {
  yield* administrator(c)
  // Without an uploads adapter no service takes uploads: there is nothing to list.
  const adapter = Option.getOrUndefined(yield* Effect.serviceOption(Uploads.Uploads))
  const items = adapter === undefined ? [] : yield* adapter.all
  const doc = {
    items: items.map((i) => ({
      itemID: i.itemID,
      itemName: i.itemName,
      description: i.description,
      date: i.date,
      committed: i.committed,
      size: i.size,
      service: i.service,
      owner: i.owner,
      expires: i.expires
    }))
  }
  return {
    json: doc,
    html: (signedIn) =>
      page(c, signedIn, {
        title: "Uploads",
        document: {},
        extra: `<table><tr><th>item</th><th>name</th><th>service</th><th>owner</th><th>size</th><th>uploaded</th><th>expires</th></tr>${doc.items
          .map(
            (i) =>
              `<tr><td>${Html.escapeHtml(i.itemID)}</td><td>${Html.escapeHtml(i.itemName)}</td><td>${Html.escapeHtml(i.service)}</td><td>${Html.escapeHtml(i.owner ?? "(anonymous)")}</td><td>${i.size}</td><td>${new Date(i.date).toISOString()}</td><td>${new Date(i.expires).toISOString()}</td></tr>`
          )
          .join("")}</table>`,
        links: []
      })
  } satisfies Answer
})

// ---------------------------------------------------------------------------------------------------------------
// security: users and roles

const securityUrl = (c: Call, operation: ArcGISResource.SecurityOperation) =>
  ArcGISResource.url(c.base, { _tag: "Security", operation })

const adminSecurity: Routes<"AdminSecurity">["AdminSecurity"] = Effect.fnUntraced(function* (c) {
  yield* userManager(c)
  return {
    json: { resources: ["users", "roles"] },
    html: (signedIn) =>
      page(c, signedIn, {
        title: "Security",
        links: [
          { href: html(securityUrl(c, "users")), text: "Users" },
          { href: html(securityUrl(c, "roles")), text: "Roles" }
        ]
      })
  } satisfies Answer
})

const userForms = (c: Call, roles: ReadonlyArray<string>, users: ReadonlyArray<string>): string =>
  [
    "<h2>Add a user</h2>",
    form(
      securityUrl(c, "users/add"),
      "Add user",
      field("Username", "username", " required") +
        field("Full name", "fullName") +
        field("Password", "password", ' type="password" autocomplete="new-password" required') +
        select("Role", "role", roles, "user")
    ),
    "<h2>Change a user</h2>",
    form(
      securityUrl(c, "users/update"),
      "Update user",
      select("Username", "username", users) +
        select("Role (unchanged when empty)", "role", ["", ...roles], "") +
        field("New password (unchanged when empty)", "password", ' type="password" autocomplete="new-password"') +
        select("Disabled", "disabled", ["", "true", "false"], "")
    ),
    "<h2>Remove a user</h2>",
    form(securityUrl(c, "users/remove"), "Remove user", select("Username", "username", users))
  ].join("\n")

const roleForms = (c: Call, custom: ReadonlyArray<string>): string =>
  [
    "<h2>Add a role</h2>",
    form(
      securityUrl(c, "roles/add"),
      "Add role",
      field("Name", "name", " required") +
        field(`Privileges (comma-separated: ${Security.privileges.join(", ")})`, "privileges")
    ),
    ...(custom.length === 0
      ? []
      : ["<h2>Remove a role</h2>", form(securityUrl(c, "roles/remove"), "Remove role", select("Name", "name", custom))])
  ].join("\n")

const securityPage = Effect.fnUntraced(function* (
  c: Call,
  operation: ArcGISResource.SecurityOperation,
  answer: Answer
) {
  const accounts = yield* Accounts
  const roles = yield* accounts.listRoles()
  const back = [{ href: ArcGISResource.url(c.base, { _tag: "AdminSecurity" }), text: "Security" }]
  if (operation === "users") {
    const users = yield* accounts.listUsers()
    return {
      ...answer,
      html: (signedIn: string | undefined) =>
        page(c, signedIn, {
          title: "Users",
          document: {
            users: users.map(
              (u) =>
                `${u.username}${u.fullName === "" ? "" : ` (${u.fullName})`} — ${u.role}${u.disabled ? " — disabled" : ""}`
            )
          },
          extra: userForms(
            c,
            roles.map((r) => r.name),
            users.map((u) => u.username)
          ),
          links: [...back, { href: html(securityUrl(c, "roles")), text: "Roles" }]
        })
    } satisfies Answer
  }
  return {
    ...answer,
    html: (signedIn: string | undefined) =>
      page(c, signedIn, {
        title: "Roles",
        document: {
          roles: roles.map(
            (r) => `${r.name}${r.builtin ? " (built-in)" : ""}: ${r.privileges.join(", ") || "no privileges"}`
          )
        },
        extra: roleForms(
          c,
          roles.filter((r) => !r.builtin).map((r) => r.name)
        ),
        links: [...back, { href: html(securityUrl(c, "users")), text: "Users" }]
      })
  } satisfies Answer
})

/**
 * `admin/security/users`, `…/roles` and their operations: `TokenApi`'s, with HTML pages — the lists with a form per
 * operation, a form page for an operation asked for with GET, and after a form's POST, back to its list.
 */
const security: Routes<"Security">["Security"] = Effect.fnUntraced(function* (c, resource) {
  const operation = resource.operation
  const list = operation === "users" || operation === "roles"
  const parent = operation.startsWith("users") ? "users" : "roles"
  if (c.format !== "html") return yield* TokenApi.routes.Security(c, resource)
  if (!list && c.request.method !== "POST") {
    yield* userManager(c)
    const accounts = yield* Accounts
    const roles = (yield* accounts.listRoles()).map((r) => r.name)
    const users = (yield* accounts.listUsers()).map((u) => u.username)
    const forms = parent === "users" ? userForms(c, roles, users) : roleForms(c, roles)
    return {
      html: (signedIn) =>
        page(c, signedIn, {
          title: `Security: ${operation}`,
          extra: forms,
          links: [{ href: html(securityUrl(c, parent)), text: parent === "users" ? "Users" : "Roles" }]
        })
    } satisfies Answer
  }
  const answer = yield* TokenApi.routes.Security(c, resource)
  if (!list) return { ...answer, redirect: html(securityUrl(c, parent)) } satisfies Answer
  return yield* securityPage(c, operation, answer)
})

// ---------------------------------------------------------------------------------------------------------------
// the seed page's sample request

/** `rest/services/<folder>/<Name>.GPServer/jobs/<id>`: the admin job, answered exactly as `admin/services/…` is. */
const seedJob: Routes<"SeedJob">["SeedJob"] = (c, resource) =>
  AdminApi.routes.AdminJob(c, {
    _tag: "AdminJob",
    service: resource.service,
    jobId: resource.jobId,
    part: { kind: "job" }
  })

/**
 * The admin directory routes, by kind of location (`Security` replaces `TokenApi`'s with one that also has pages).
 *
 * @category constructors
 */
export const routes: Routes<
  | "AdminRoot"
  | "AdminServices"
  | "AdminFolder"
  | "AdminService"
  | "AdminSecurity"
  | "AdminMachines"
  | "AdminUploads"
  | "SeedJob"
  | "Security"
> = {
  AdminRoot: root,
  AdminServices: (c) => listing(c, undefined),
  AdminFolder: (c, resource) => listing(c, resource.folder),
  AdminService: adminService,
  AdminSecurity: adminSecurity,
  AdminMachines: machines,
  AdminUploads: uploads,
  SeedJob: seedJob,
  Security: security
}
