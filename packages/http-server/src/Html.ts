/**
 * The services directory's HTML: one readable, server-rendered page per resource (`f=html`, the default), built from
 * the same JSON the machine formats answer, with links to child resources, a sign-in form, and for jobs their status,
 * progress, messages and results. Every value is escaped.
 *
 * @module
 */

/** Escapes text for HTML. @category constructors */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c)

const value = (v: unknown): string => {
  if (v === null || v === undefined) return "<em>none</em>"
  if (typeof v === "string")
    return /^https?:\/\//.test(v) ? `<a href="${escapeHtml(v)}">${escapeHtml(v)}</a>` : escapeHtml(v)
  if (typeof v !== "object") return escapeHtml(String(v))
  if (Array.isArray(v)) {
    if (v.length === 0) return "<em>empty</em>"
    return `<ol>${v.map((item) => `<li>${value(item)}</li>`).join("")}</ol>`
  }
  return definitions(v as Record<string, unknown>)
}

const definitions = (doc: Record<string, unknown>): string =>
  `<dl>${Object.entries(doc)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${value(v)}</dd>`)
    .join("")}</dl>`

/**
 * A page: a title, breadcrumbs, links to children, the document itself, and optional extra HTML (forms).
 *
 * @category constructors
 */
export const page = (options: {
  readonly title: string
  readonly home: string
  readonly document?: unknown
  readonly links?: ReadonlyArray<{ readonly href: string; readonly text: string }> | undefined
  readonly extra?: string | undefined
  readonly signedIn?: string | undefined
  /** Where the header's sign-in and sign-out links go. */
  readonly account?: { readonly signIn: string; readonly signOut: string } | undefined
  /** The directory the header names (default the services directory; the admin pages name theirs). */
  readonly directory?: string | undefined
}): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} — GeoJobs</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1d2b36}
header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:1px solid #cdd6dd;margin-bottom:1rem}
h1{font-size:1.4rem}dt{font-weight:600;margin-top:.4rem}dd{margin-left:1.2rem}a{color:#0b63a5}
form{margin:1rem 0;padding:1rem;background:#f3f6f8;border-radius:6px}label{display:block;margin:.3rem 0}
input,select,textarea{font:inherit;padding:.2rem .4rem}progress{width:20rem}
</style></head><body>
<header><a href="${escapeHtml(options.home)}">${escapeHtml(options.directory ?? "GeoJobs Services Directory")}</a><span>${
  options.signedIn === undefined
    ? options.account === undefined
      ? ""
      : `<a href="${escapeHtml(options.account.signIn)}">Sign in</a>`
    : `Signed in as ${escapeHtml(options.signedIn)}${options.account === undefined ? "" : ` · <a href="${escapeHtml(options.account.signOut)}">Sign out</a>`}`
}</span></header>
<h1>${escapeHtml(options.title)}</h1>
${options.links && options.links.length > 0 ? `<ul>${options.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></li>`).join("")}</ul>` : ""}
${options.extra ?? ""}
${options.document === undefined ? "" : value(options.document)}
</body></html>
`

/**
 * The sign-in form; it posts to the directory's login, which keeps the token in an HTTP-only cookie.
 *
 * @category constructors
 */
export const signInForm = (
  action: string,
  next: string,
  problem?: string
): string => `<form method="post" action="${escapeHtml(action)}">
${problem === undefined ? "" : `<p role="alert"><strong>${escapeHtml(problem)}</strong></p>`}
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`

/**
 * A form to submit a job to a task: one field per input parameter.
 *
 * @category constructors
 */
export const submitForm = (
  action: string,
  parameters: ReadonlyArray<{
    readonly name: string
    readonly dataType: string
    readonly direction: string
    readonly defaultValue: unknown
    readonly choiceList?: ReadonlyArray<string>
  }>
): string => `<form method="post" action="${escapeHtml(action)}">
${parameters
  .filter((p) => p.direction === "esriGPParameterDirectionInput")
  .map((p) => {
    const initial =
      p.defaultValue === null || p.defaultValue === undefined
        ? ""
        : typeof p.defaultValue === "string"
          ? p.defaultValue
          : JSON.stringify(p.defaultValue)
    const field = p.choiceList
      ? `<select name="${escapeHtml(p.name)}">${p.choiceList.map((c) => `<option${c === initial ? " selected" : ""}>${escapeHtml(c)}</option>`).join("")}</select>`
      : `<textarea name="${escapeHtml(p.name)}" rows="1" cols="60">${escapeHtml(initial)}</textarea>`
    return `<label>${escapeHtml(p.name)} (${escapeHtml(p.dataType)}) ${field}</label>`
  })
  .join("\n")}
<input type="hidden" name="f" value="html"><button type="submit">Submit Job</button></form>`

/**
 * A job's progress bar, when it has a percentage.
 *
 * @category constructors
 */
export const progressBar = (percent: number | undefined, message: string | undefined): string =>
  percent === undefined && message === undefined
    ? ""
    : `<p>${percent === undefined ? "" : `<progress max="100" value="${percent}">${percent}%</progress> ${percent}% `}${escapeHtml(message ?? "")}</p>`
