/**
 * The two ArcGIS error envelopes: the REST one, `{"error":{"code","message","details"}}`, used under `/rest` and by
 * token endpoints, and the admin operation response, `{"status":"error","messages":[…],"code"}`, used under `/admin`.
 * Also the one table from job-model errors to the codes those envelopes carry.
 *
 * @module
 */
import { z } from "zod"
import type { JobError } from "./JobError.ts"

/**
 * zod schema of the REST error envelope.
 *
 * @category models
 */
export const restSchema = z.object({
  error: z.object({
    code: z.number().int(),
    message: z.string(),
    details: z.array(z.string()),
    messageCode: z.string().optional()
  })
})

/** @category models */
export type RestError = z.output<typeof restSchema>

/**
 * zod schema of the admin error envelope.
 *
 * @category models
 */
export const adminSchema = z.object({
  status: z.literal("error"),
  messages: z.array(z.string()),
  code: z.number().int()
})

/** @category models */
export type AdminError = z.output<typeof adminSchema>

/**
 * A REST error envelope.
 *
 * @category constructors
 */
export const rest = (options: {
  readonly code: number
  readonly message: string
  readonly details?: ReadonlyArray<string> | undefined
  readonly messageCode?: string | undefined
}): RestError => ({
  error: {
    code: options.code,
    message: options.message,
    details: [...(options.details ?? [])],
    ...(options.messageCode === undefined ? {} : { messageCode: options.messageCode })
  }
})

/**
 * An admin error envelope.
 *
 * @category constructors
 */
export const admin = (options: { readonly code: number; readonly messages: ReadonlyArray<string> }): AdminError => ({
  status: "error",
  messages: [...options.messages],
  code: options.code
})

/**
 * The code each job-model error carries in an envelope.
 *
 * @category models
 */
export const codes: { readonly [T in JobError["_tag"]]: number } = {
  NoSuchJob: 404,
  DuplicateJob: 409,
  InvalidTransition: 400,
  StaleRevision: 409,
  InvalidReference: 400,
  NoSuchResource: 404,
  InvalidQuery: 400,
  JobStoreError: 500
}

/**
 * The REST envelope for a job-model error.
 *
 * @category constructors
 */
export const restFromError = (error: JobError): RestError =>
  rest({ code: codes[error._tag], message: error.message, details: [] })

/**
 * The admin envelope for a job-model error.
 *
 * @category constructors
 */
export const adminFromError = (error: JobError): AdminError =>
  admin({ code: codes[error._tag], messages: [error.message] })
