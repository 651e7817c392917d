/**
 * Reading and validating what `docket put` is given: one JSON document, or
 * NDJSON (one document per line). Validation is all-or-nothing: every line is
 * decoded first, and if any is bad nothing is written and every bad line is
 * reported with its line number and the path of the bad field.
 *
 * @since 0.1.0
 */
import type * as Document from "@docket/core/Document"
import type * as DocumentKind from "@docket/core/DocumentKind"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { CliError } from "./CliError.js"

/** A decoded document and where it came from (`file:line`). */
export interface Parsed {
  readonly source: string
  readonly document: Document.AnyDocument
}

/** Everything on stdin, as text. */
const readStdin: Effect.Effect<string, CliError> = Stream.fromAsyncIterable(
  process.stdin as AsyncIterable<Uint8Array>,
  (cause) => new CliError({ reason: "BadInput", message: `Cannot read stdin: ${String(cause)}`, cause }),
).pipe(Stream.decodeText(), Stream.mkString)

/** Reads `file` through the platform's `FileSystem` (or stdin for `-`). */
export const readText = (file: string): Effect.Effect<string, CliError, FileSystem.FileSystem> =>
  file === "-"
    ? readStdin
    : Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(
        Effect.mapError(
          (error) =>
            new CliError({
              reason: "BadInput",
              message:
                error._tag === "SystemError" && error.reason === "NotFound"
                  ? `Cannot read ${file}: no such file`
                  : /EISDIR/.test(error.message)
                    ? `Cannot read ${file}: it is a directory`
                    : `Cannot read ${file}: ${error.message}`,
              cause: error,
            }),
        ),
      )

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
