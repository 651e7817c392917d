/**
 * The exit code of every error a command can end with, decided by the classes
 * `@docket/core` exports (never by tag strings). `bin.ts` imports this module
 * when a command has failed: the classes' modules (backfill, inventory) are not
 * loaded for `--help` or a command that succeeds.
 *
 * @since 0.1.0
 */
import * as Backfill from "@docket/core/Backfill"
import * as CacheError from "@docket/core/CacheError"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Inventory from "@docket/core/Inventory"
import * as S3Key from "@docket/core/S3Key"
import * as ValidationError from "@effect/cli/ValidationError"
import * as ConfigError from "effect/ConfigError"
import { CliError, ExitCode } from "./CliError.js"

/** The errors that mean "the input was wrong" (exit 2), by class: what core exports, not tag strings. */
const badInput: ReadonlyArray<abstract new (...args: never) => unknown> = [
  DocumentKind.DocumentDecodeError,
  CacheError.InvalidQueryError,
  CacheError.CursorError,
  S3Key.KeyDecodeError,
]

/** The exit code of an error. */
export const of = (error: unknown): number => {
  if (error instanceof CliError) {
    return error.reason === "BadInput"
      ? ExitCode.BadInput
      : error.reason === "Drift"
        ? ExitCode.Drift
        : ExitCode.Failure
  }
  if (error instanceof Backfill.BackfillError) {
    return error.reason === "ListingFailed" || error.reason === "CheckpointFailed"
      ? ExitCode.Failure
      : ExitCode.BadInput
  }
  if (error instanceof Inventory.InventoryError) {
    return error.reason === "BadLocation" ? ExitCode.BadInput : ExitCode.Failure
  }
  if (badInput.some((type) => error instanceof type)) return ExitCode.BadInput
  if (ValidationError.isValidationError(error) || ConfigError.isConfigError(error)) return ExitCode.BadInput
  return ExitCode.Failure
}
