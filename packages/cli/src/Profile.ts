/**
 * The saved sign-ins: `config.json` in the user's config folder (`$GEOJOBS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/geojobs`
 * or `~/.config/geojobs`; `%APPDATA%\geojobs` on Windows), one named profile per server. The file holds tokens, never
 * passwords, and is written with 0600 permissions (its folder 0700) through a temporary file and a rename, so a
 * crash leaves the old file whole.
 *
 * @module
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { Data, Effect } from "effect"
import { z } from "zod"

const profileSchema = z.object({
  url: z.string(),
  username: z.string().optional(),
  token: z.string().optional(),
  /** ms since the epoch */
  expires: z.number().optional(),
  referer: z.string().optional()
})

const fileSchema = z.object({ profiles: z.record(z.string(), profileSchema).default({}) })

/** One saved sign-in. @category models */
export type Profile = z.output<typeof profileSchema>

/** @category models */
export type ConfigFile = z.output<typeof fileSchema>

/** The config file cannot be read or written. @category errors */
export class ProfileError extends Data.TaggedError("ProfileError")<{ readonly path: string; readonly detail: string }> {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** The folder that holds `config.json`. */
export const configDir = (
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir()
): string =>
  env.GEOJOBS_CONFIG_DIR !== undefined && env.GEOJOBS_CONFIG_DIR !== ""
    ? env.GEOJOBS_CONFIG_DIR
    : platform === "win32"
      ? join(env.APPDATA ?? join(home, "AppData", "Roaming"), "geojobs")
      : join(
          env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(home, ".config"),
          "geojobs"
        )

/** The config file's path. */
export const configPath = (dir: string = configDir()): string => join(dir, "config.json")

/** Reads the config file (none yet reads as no profiles). */
export const read = (path: string = configPath()): Effect.Effect<ConfigFile, ProfileError> =>
  Effect.gen(function* () {
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} }
      return yield* new ProfileError({ path, detail: (e as Error).message })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return yield* new ProfileError({ path, detail: "is not JSON; delete it and run `geojobs login` again" })
    }
    const parsed = fileSchema.safeParse(json)
    if (!parsed.success)
      return yield* new ProfileError({
        path,
        detail: `is not a geojobs config (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}); delete it and run \`geojobs login\` again`
      })
    return parsed.data
  })

const write = (path: string, file: ConfigFile): Effect.Effect<void, ProfileError> =>
  Effect.try({
    try: () => {
      const dir = join(path, "..")
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const temporary = `${path}.${process.pid}.tmp`
      writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
      // The mode given to writeFileSync is masked by umask; set it outright.
      chmodSync(temporary, 0o600)
      renameSync(temporary, path)
    },
    catch: (e) => new ProfileError({ path, detail: (e as Error).message })
  })

/** Saves (adds or replaces) one profile. */
export const save = (name: string, profile: Profile, path: string = configPath()): Effect.Effect<void, ProfileError> =>
  Effect.flatMap(read(path), (file) => write(path, { profiles: { ...file.profiles, [name]: profile } }))

/** Removes one profile; whether it was there. */
export const remove = (name: string, path: string = configPath()): Effect.Effect<boolean, ProfileError> =>
  Effect.gen(function* () {
    const file = yield* read(path)
    if (!(name in file.profiles)) return false
    const { [name]: _, ...rest } = file.profiles
    yield* write(path, { profiles: rest })
    return true
  })
