/**
 * The services a command runs with, built from the resolved configuration:
 * the ports (cache, store, kinds, config) and the document operations the
 * `put`/`get`/`delete` commands use (write-through, fallback read).
 *
 * @since 0.1.0
 */
import type * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"

/** What `put`, `get` and `delete` do, over the core workflows. */
export interface DocumentsService {
  /** Write-through: returns the outcome word (`written`, `unchanged`, `rolled-back`, ...). */
  readonly write: (
    document: Document.AnyDocument,
  ) => Effect.Effect<{ readonly outcome: string; readonly key: string }, unknown>
  /** Fallback read. */
  readonly read: (kind: string, id: string) => Effect.Effect<Option.Option<Document.AnyDocument>, unknown>
  /** Write-through delete. */
  readonly remove: (
    kind: string,
    id: string,
  ) => Effect.Effect<{ readonly outcome: string; readonly key: string }, unknown>
}

/** The document operations tag. */
export class Documents extends Context.Tag("@docket/cli/Documents")<Documents, DocumentsService>() {}

/** Everything a command handler may use. */
export type Services = Docket.Services | Documents

const outcomeWord = (tag: string): string =>
  tag === "RolledBack" ? "rolled-back" : tag === "DryRun" ? "dry-run" : tag.toLowerCase()

/** The document operations over WriteThrough and FallbackReader. */
export const layerDocuments: Layer.Layer<Documents, never, WriteThrough.WriteThrough | FallbackReader.FallbackReader> =
  Layer.effect(
    Documents,
    Effect.gen(function* () {
      const writer = yield* WriteThrough.WriteThrough
      const reader = yield* FallbackReader.FallbackReader
      return {
        write: (document) =>
          Effect.map(writer.write(document), (r) => ({ outcome: outcomeWord(r._tag), key: r.s3Key })),
        // Wait for the background refill so a CLI process does not exit before it lands.
        read: (kind, id) =>
          reader.read(kind, id).pipe(
            Effect.tap(() => reader.awaitRefills),
            Effect.map(Option.map((r) => r.document)),
          ),
        remove: (kind, id) =>
          Effect.map(writer.delete(kind, id), (r) => ({ outcome: outcomeWord(r._tag), key: r.s3Key })),
      }
    }),
  )

/**
 * Builds the services for `settings`: Docket on the configured endpoints plus the
 * CLI's document operations. The composition layer (and with it the AWS SDK
 * clients) is imported when a command builds it, so `--help` and the commands
 * that need no AWS never load them (startup time).
 */
export const layer = (settings: DocketConfig.Settings): Layer.Layer<Services, CliError> =>
  Layer.unwrapEffect(
    Effect.promise(() => import("@docket/core/Docket")).pipe(
      Effect.map((Docket) => layerDocuments.pipe(Layer.provideMerge(Docket.layer(settings)))),
    ),
  )

/** Fails with a readable message when the configuration is incomplete. */
export const settingsFrom = Effect.mapError(
  DocketConfig.config,
  (error) =>
    new CliError({
      reason: "BadInput",
      message: `Configuration: ${String(error).replace(/^\(|\)$/g, "")}. Pass the matching flag (e.g. --bucket), set the environment variable, or use --local.`,
      cause: error,
    }),
)
