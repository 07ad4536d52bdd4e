/**
 * Tokens and sign-in: `generateToken` wherever ArcGIS clients look for it — the URL `rest/info` advertises (`tokens`,
 * `tokens/`, `tokens/generateToken`, and the legacy `request=getToken`), `admin/generateToken`, and the Enterprise
 * Directory's `sharing/rest/generateToken` — plus the server-token exchange arcgis-rest-js sends (`token` +
 * `serverUrl`), the HTML directory's sign-in and sign-out, and the admin endpoints that manage users and roles.
 * Token endpoints are rate limited per client address.
 *
 * @module
 */
import { type AdminQuery, ArcGISResource, type Token } from "@geojobs/core"
import { Effect } from "effect"
import { Accounts, TokenRequired } from "./Accounts.ts"
import * as ArcGISRequest from "./ArcGISRequest.ts"
import { InvalidInput, MethodNotAllowed, NotFound } from "./Failure.ts"
import { type Answer, authorize, type Call, type Routes, signedIn, tokenInBodyOrSession } from "./Handler.ts"
import * as Html from "./Html.ts"
import * as Security from "./Security.ts"

const clients = ["referer", "ip", "requestip"] as const

const generate = Effect.fnUntraced(function* (c: Call) {
  const store = yield* Accounts
  const p = c.params
  // Credentials and tokens travel in a POST body only, as ArcGIS requires: a GET puts them in URLs, which proxies,
  // browser histories and access logs keep.
  if (c.request.method !== "POST") return yield* new MethodNotAllowed({ operation: "generateToken" })
  const legacy = (p.request ?? "").toLowerCase() === "gettoken"
  const expiration = p.expiration === undefined || p.expiration === "" ? undefined : Number(p.expiration)
  if (expiration !== undefined && !(Number.isFinite(expiration) && expiration > 0)) {
    return yield* new InvalidInput({
      parameter: "expiration",
      detail: "expiration must be a number of minutes greater than 0"
    })
  }
  // Legacy clients bind with clientid=ref.<url>.
  const legacyReferer = p.clientid?.startsWith("ref.") ? p.clientid.slice(4) : undefined
  const requested = (p.client ?? (legacyReferer !== undefined ? "referer" : "requestip")).toLowerCase()
  if (!clients.includes(requested as (typeof clients)[number])) {
    return yield* new InvalidInput({ parameter: "client", detail: `client must be one of ${clients.join(", ")}` })
  }
  const client = requested as (typeof clients)[number]
  const referer = p.referer ?? legacyReferer ?? ArcGISRequest.referer(c.request)
  if (client === "referer" && !referer)
    return yield* new InvalidInput({ parameter: "referer", detail: "client=referer needs a referer" })
  if (client === "ip" && !p.ip) return yield* new InvalidInput({ parameter: "ip", detail: "client=ip needs an ip" })
  const binding = {
    client,
    ...(client === "referer" && referer ? { referer } : {}),
    ...(client === "ip" && p.ip ? { ip: p.ip } : client === "requestip" ? { ip: c.request.ip } : {}),
    ...(expiration === undefined ? {} : { expirationMinutes: expiration })
  }
  let issued: { readonly token: string; readonly expires: number; readonly ssl: boolean }
  if (p.username === undefined && p.token !== undefined && p.serverUrl !== undefined) {
    issued = yield* store.exchangeToken(p.token, p.serverUrl, {
      referer: ArcGISRequest.referer(c.request),
      ip: c.request.ip
    })
  } else {
    if (!p.username || !p.password)
      return yield* new InvalidInput({
        parameter: p.username ? "password" : "username",
        detail: "username and password are required"
      })
    const principal = yield* store.authenticate(p.username, p.password, c.request.ip)
    issued = yield* store.issueToken({ username: principal.username, ...binding })
  }
  if (legacy && (p.f === undefined || p.f === "")) return { text: issued.token } satisfies Answer
  const doc: Token.Token = { token: issued.token, expires: issued.expires, ssl: issued.ssl }
  return { json: doc, title: "Token" } satisfies Answer
})

const tokenFormPage = (c: Call, action: string) =>
  Html.page({
    title: "Generate Token",
    home: c.home,
    account: c.account,
    extra: `<form method="post" action="${Html.escapeHtml(action)}"><label>Username <input name="username"></label><label>Password <input name="password" type="password"></label><label>Client <select name="client"><option>requestip</option><option>referer</option><option>ip</option></select></label><label>Referer <input name="referer"></label><label>Expiration (minutes) <input name="expiration" value="60"></label><input type="hidden" name="f" value="pjson"><button>Generate Token</button></form>`
  })

/**
 * Where a sign-in may send the browser afterwards: a path on this site only. `//host`, `/\host` and paths with
 * whitespace or backslashes (which browsers strip or turn into `/`, making the same) would leave it: an open redirect.
 */
export const sameSitePath = (next: string | undefined): next is string =>
  next !== undefined && /^\/(?![/\\])[^\s\\]*$/.test(next)

const login = Effect.fnUntraced(function* (c: Call) {
  const store = yield* Accounts
  const next = sameSitePath(c.params.next) ? c.params.next : c.home
  // Only a POST signs in: a GET or HEAD shows the form (a HEAD must never count as a failed sign-in).
  if (c.request.method !== "POST") {
    return {
      html: () =>
        Html.page({
          title: "Sign in",
          home: c.home,
          account: c.account,
          extra: Html.signInForm(c.account.signIn, next)
        })
    } satisfies Answer
  }
  const refused = (message: string) =>
    Effect.succeed({
      html: () =>
        Html.page({
          title: "Sign in",
          home: c.home,
          account: c.account,
          extra: Html.signInForm(c.account.signIn, next, message)
        })
    } satisfies Answer)
  const result = yield* Effect.result(
    store.authenticate(c.params.username ?? "", c.params.password ?? "", c.request.ip)
  )
  if (result._tag === "Failure") {
    const error = result.failure
    if (error._tag === "SecurityStoreError") return yield* error
    return yield* refused(error._tag === "TooManyAttempts" ? error.message : "Invalid username or password.")
  }
  const issued = yield* store.issueToken({
    username: result.success.username,
    client: "requestip",
    ip: c.request.ip,
    expirationMinutes: 480
  })
  const secure = c.base.startsWith("https:") ? "; Secure" : ""
  return {
    redirect: next,
    headers: {
      "set-cookie": `geojobs_token=${encodeURIComponent(issued.token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800${secure}`
    }
  } satisfies Answer
})

const logout = Effect.fnUntraced(function* (c: Call) {
  const store = yield* Accounts
  const cookie = ArcGISRequest.cookieToken(c.request)
  if (cookie !== undefined) yield* store.revokeToken(cookie).pipe(Effect.ignore)
  return {
    redirect: c.home,
    headers: { "set-cookie": "geojobs_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0" }
  } satisfies Answer
})

const usersAndRoles: Routes<"Security">["Security"] = Effect.fnUntraced(function* (c, resource) {
  const path = resource.operation
  const store = yield* Accounts
  const p = yield* signedIn(c)
  yield* authorize(p, Security.canManageUsers(p), "Managing users and roles needs the Administrator role.")
  const post = c.request.method === "POST"
  // The Enterprise Administrator API: every POST carries its token in the request body (the seed's rule), or, from
  // the HTML directory's own forms, the session's sign-in cookie.
  if (post && !tokenInBodyOrSession(c)) return yield* new TokenRequired()
  const q = c.params
  switch (path) {
    case "users":
      return { json: { users: yield* store.listUsers() }, title: "Users" } satisfies Answer
    case "roles":
      return { json: { roles: yield* store.listRoles() }, title: "Roles" } satisfies Answer
  }
  if (!post) return yield* new MethodNotAllowed({ operation: path })
  switch (path) {
    case "users/add":
      yield* store.createUser({
        username: q.username ?? "",
        password: q.password ?? "",
        role: q.role ?? "user",
        fullName: q.fullName
      })
      break
    case "users/remove":
      yield* store.deleteUser(q.username ?? "")
      break
    case "users/update": {
      const disabled = q.disabled === undefined || q.disabled === "" ? undefined : q.disabled.toLowerCase()
      if (disabled !== undefined && disabled !== "true" && disabled !== "false") {
        return yield* new InvalidInput({ parameter: "disabled", detail: "disabled must be true or false" })
      }
      if (q.role) yield* store.setRole(q.username ?? "", q.role)
      if (q.password) yield* store.setPassword(q.username ?? "", q.password)
      if (disabled !== undefined) yield* store.setDisabled(q.username ?? "", disabled === "true")
      break
    }
    case "roles/add":
      yield* store.createRole({
        name: q.name ?? "",
        privileges: (q.privileges ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      })
      break
    case "roles/remove":
      yield* store.deleteRole(q.name ?? "")
      break
  }
  return { json: { status: "success" } satisfies AdminQuery.Operation } satisfies Answer
})

const token: Routes<"Token">["Token"] = (c, resource) => {
  const asksForForm = c.request.method === "GET" && Object.keys(c.params).filter((k) => k !== "f").length === 0
  if (asksForForm) {
    const action = ArcGISResource.url(c.base, resource)
    return Effect.succeed({ html: () => tokenFormPage(c, action) })
  }
  return generate(c)
}

/**
 * The token, sign-in and user-management routes, by kind of location. The HTML sign-in lives at `rest/login` (and
 * `admin/login` for the admin directory), where ArcGIS Server has it.
 *
 * @category constructors
 */
export const routes: Routes<"Token" | "SignIn" | "SignOut" | "Security" | "PortalInfo"> = {
  Token: token,
  SignIn: (c) => login(c),
  SignOut: (c) => logout(c),
  Security: usersAndRoles,
  // GeoJobs is a server, not a portal: a federated client asks a portal for this, never us.
  PortalInfo: () => Effect.fail(new NotFound({ what: "Portal information" }))
}
