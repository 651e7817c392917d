/**
 * The services a command runs with, built from the resolved configuration:
 * the ports (cache, store, kinds, config) and the document operations the
 * `put`/`get`/`delete` commands use (write-through, fallback read).
 *
 * @since 0.1.0
 */
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import type * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import type * as DocumentStore from "@docket/core/DocumentStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
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
export type Services =
  | DocketConfig.DocketConfig
  | DocumentKind.DocumentKinds
  | DocumentCache.DocumentCache
  | DocumentStore.DocumentStore
  | Documents

/**
 * Builds the services for `settings`. Filled in from the core composition
 * layer (`@docket/core/Docket`).
 */
export const layer = (settings: DocketConfig.Settings): Layer.Layer<Services, CliError> =>
  Layer.mergeAll(DocketConfig.layer(settings), DocumentKind.layerDefault).pipe(
    Layer.provideMerge(
      Layer.fail(
        new CliError({ reason: "Failure", message: "The cache and store backends are not wired into the CLI yet" }),
      ) as Layer.Layer<DocumentCache.DocumentCache | DocumentStore.DocumentStore | Documents, CliError>,
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
