// The ClientError a promise rejects with (and a failure when it resolves or rejects with something else).
import { ClientError } from "../../src/index.ts"

export const rejection = async (promise: Promise<unknown>): Promise<ClientError> => {
  try {
    await promise
  } catch (e) {
    if (e instanceof ClientError) return e
    throw e
  }
  throw new Error("expected a ClientError")
}
