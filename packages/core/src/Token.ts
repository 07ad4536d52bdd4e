/**
 * The token service's answer (`generateToken` at any of its endpoints, and the server-token exchange): the token,
 * when it expires (milliseconds since the epoch; some servers send it as a string) and whether it may be used only
 * over HTTPS.
 *
 * @module
 */
import { z } from "zod"

/**
 * zod schema of a token answer.
 *
 * @category models
 */
export const schema = z.looseObject({
  token: z.string(),
  expires: z.coerce.number(),
  ssl: z.boolean().optional()
})

/** A token answer. @category models */
export type Token = z.output<typeof schema>
