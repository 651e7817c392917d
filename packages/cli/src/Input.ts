/**
 * Reading and validating what `docket put` is given: one JSON document, or
 * NDJSON (one document per line). Validation is all-or-nothing: every line is
 * decoded first, and if any is bad nothing is written and every bad line is
 * reported with its line number and the path of the bad field.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import type * as Document from "@docket/core/Document"
import type * as DocumentKind from "@docket/core/DocumentKind"
import * as Either from "effect/Either"
import { CliError } from "./CliError.js"

/** A decoded document and where it came from (`file:line`). */
export interface Parsed {
  readonly source: string
  readonly document: Document.AnyDocument
}

/** Reads `file` (or stdin for `-`). */
export const readText = (file: string): Either.Either<string, CliError> => {
  try {
    return Either.right(readFileSync(file === "-" ? 0 : file, "utf8"))
  } catch (error) {
    const code = (error as { code?: string }).code
    return Either.left(
      new CliError({
        reason: "BadInput",
        message:
          code === "ENOENT"
            ? `Cannot read ${file}: no such file`
            : code === "EISDIR"
              ? `Cannot read ${file}: it is a directory`
              : `Cannot read ${file}: ${(error as Error).message}`,
        cause: error,
      }),
    )
  }
}

/**
 * Decodes the text of a `put` input. A text that is one JSON value (possibly
 * spread over several lines) is one document; otherwise every non-blank line
 * is a document.
 */
export const parseDocuments = (
  text: string,
  name: string,
  kinds: DocumentKind.Registry,
): Either.Either<ReadonlyArray<Parsed>, CliError> => {
  const label = name === "-" ? "stdin" : name
  if (text.trim() === "") {
    return Either.left(new CliError({ reason: "BadInput", message: `${label}: no document (the input is empty)` }))
  }
  let whole: unknown
  let isWhole = false
  try {
    whole = JSON.parse(text)
    isWhole = true
  } catch {}
  const entries: Array<{
    source: string
    decoded: Either.Either<Document.AnyDocument, DocumentKind.DocumentDecodeError>
  }> = []
  if (isWhole) {
    if (Array.isArray(whole)) {
      return Either.left(
        new CliError({
          reason: "BadInput",
          message: `${label}: expected one JSON document or NDJSON (one document per line), got a JSON array`,
        }),
      )
    }
    entries.push({ source: label, decoded: kinds.decode(whole, label) })
  } else {
    const lines = text.split(/\r?\n/)
    lines.forEach((line, i) => {
      if (line.trim() === "") return
      const source = `${label}:${i + 1}`
      entries.push({ source, decoded: kinds.decodeJson(line, source) })
    })
  }
  const errors = entries.flatMap((e) => (Either.isLeft(e.decoded) ? [e.decoded.left.message] : []))
  if (errors.length > 0) {
    return Either.left(
      new CliError({
        reason: "BadInput",
        message:
          errors.length === 1
            ? `${errors[0]} (nothing written)`
            : `${errors.length} of ${entries.length} documents are invalid (nothing written): ${errors[0]}`,
        details: errors.length === 1 ? [] : errors,
      }),
    )
  }
  return Either.right(
    entries.map((e) => ({ source: e.source, document: Either.getOrThrow(e.decoded) as Document.AnyDocument })),
  )
}

/**
 * Parses a `--from`/`--to` value: an ISO-8601 date (`2026-11-01`, midnight
 * UTC) or date-time with a zone. Returns the normalised instant.
 */
export const parseInstant = (flag: string, value: string): Either.Either<string, CliError> => {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value)
  const real = !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value.slice(0, 10)
  if ((!dateOnly && !dateTime) || Number.isNaN(ms) || (dateOnly && !real)) {
    return Either.left(
      new CliError({
        reason: "BadInput",
        message: `--${flag} ${JSON.stringify(value)} is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)`,
      }),
    )
  }
  return Either.right(new Date(ms).toISOString())
}

/** Checks `from < to` (the range is half-open). */
export const checkRange = (from: string, to: string, given: { from: string; to: string }) =>
  from < to
    ? Either.right({ from, to })
    : Either.left(
        new CliError({
          reason: "BadInput",
          message: `--from ${given.from} must be before --to ${given.to} (the range [from, to) is half-open)`,
        }),
      )
