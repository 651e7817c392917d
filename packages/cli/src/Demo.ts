/**
 * `docket demo`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as GlobalOptions from "./GlobalOptions.js"

/** Runs the demo. */
export const run = (_o: GlobalOptions.Globals & { readonly documents: number; readonly customers: number }) =>
  Effect.void
