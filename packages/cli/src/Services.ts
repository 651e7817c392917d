/**
 * The services a command runs with, built from its {@link Environment}: the
 * ports (cache, store, kinds, config), the document operations the
 * `put`/`get`/`delete` commands use (write-through, fallback read), the
 * logger, and `--metrics` export when the command ends.
 *
 * @since 0.1.0
 */

import * as Docket from "@docket/core/Docket"
import type * as Document from "@docket/core/Document"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as MetricsExport from "@docket/core/MetricsExport"
import * as Tracing from "@docket/core/Tracing"
import * as WriteThrough from "@docket/core/WriteThrough"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Environment from "./Environment.js"
import * as Output from "./Output.js"

/** What `put`, `get` and `delete` do, over the core workflows. */
export interface DocumentsService {
  /** Write-through: returns the outcome word (`written`, `unchanged`, `rolled-back`, ...). */
  readonly write: (
    document: Document.AnyDocument,
  ) => Effect.Effect<{ readonly outcome: string; readonly key: string }, WriteThrough.WriteError>
  /** Fallback read. */
  readonly read: (
    kind: string,
    id: string,
  ) => Effect.Effect<Option.Option<Document.AnyDocument>, FallbackReader.ReadError>
  /** Write-through delete. */
  readonly remove: (
    kind: string,
    id: string,
  ) => Effect.Effect<{ readonly outcome: string; readonly key: string }, WriteThrough.DeleteError>
}

/** The document operations tag. */
export class Documents extends Context.Tag("@docket/cli/Documents")<Documents, DocumentsService>() {}

/** Everything a command handler may use. */
export type Services = Docket.Services | Documents | Environment.Environment

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

/** Docket's services on the resolved settings, the SDK clients given the resolved credentials. */
export const layerDocket: Layer.Layer<Docket.Services, never, Environment.Environment> = Layer.unwrapEffect(
  Effect.map(Environment.Environment, ({ settings, credentials }) =>
    Docket.layer(
      settings,
      Option.match(credentials, {
        onNone: () => ({}),
        onSome: (c) => ({ dynamodbClient: { credentials: c }, store: { clientConfig: { credentials: c } } }),
      }),
    ),
  ),
)

/** Publishes what the command recorded, as `--metrics emf|cloudwatch` says. */
const exportMetrics = ({ globals, settings, credentials }: Environment.Resolved): Effect.Effect<void> =>
  Option.match(globals.metrics, {
    onNone: () => Effect.void,
    onSome: (target): Effect.Effect<void> =>
      (target === "emf"
        ? // EMF lines go to stderr: stdout carries the command's results.
          Effect.flatMap(MetricsExport.MetricsExport, (exporter) =>
            exporter.flush((data, timestamp) =>
              Effect.forEach(MetricsExport.renderEmf(data, timestamp), Output.note, { discard: true }),
            ),
          ).pipe(Effect.asVoid)
        : MetricsExport.publishCloudWatch().pipe(
            Effect.asVoid,
            Effect.provide(
              MetricsExport.layerCloudWatch({
                region: settings.region,
                ...Option.match(credentials, { onNone: () => ({}), onSome: (c) => ({ credentials: c }) }),
              }),
            ),
          )
      ).pipe(
        Effect.provide(MetricsExport.layer({ table: settings.table })),
        Effect.catchAll((error) => Output.note(`metrics export failed: ${error.message}`)),
        Effect.asVoid,
      ),
  })

/** Exports the metrics (`--metrics`) when the command's scope closes, however it ends. */
export const layerMetricsAtExit: Layer.Layer<never, never, Environment.Environment> = Layer.scopedDiscard(
  Effect.flatMap(Environment.Environment, (resolved) => Effect.addFinalizer(() => exportMetrics(resolved))),
)

/** The services of a command that works on documents: Docket, the document operations, logger and metrics. */
export const layer: Layer.Layer<Docket.Services | Documents, never, Environment.Environment> = Layer.mergeAll(
  layerDocuments.pipe(Layer.provideMerge(layerDocket)),
  Environment.layerRuntime,
  layerMetricsAtExit,
)

/**
 * Spans exported over OTLP when the command's environment turns tracing on
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, read through the command's configuration);
 * nothing otherwise. A tracing setting that does not parse fails the command
 * with its `ConfigError` (exit 2, like any other setting), not a defect.
 */
export const layerTracing: Layer.Layer<never, ConfigError.ConfigError, Environment.Environment> = Layer.unwrapEffect(
  Effect.flatMap(Environment.Environment, ({ provider }) =>
    Effect.withConfigProvider(Tracing.config("docket-cli"), provider).pipe(
      Effect.map(Option.match({ onNone: () => Layer.empty, onSome: (settings) => Tracing.layer(settings) })),
    ),
  ),
)

/**
 * Gives a command's body its services ({@link layer} over the command's
 * {@link Environment.layer}) inside the command's root span, named after the
 * command (`docket put`, `docket query status`; exported when tracing is on):
 * `run(o).pipe(Services.provide("put"))`. The name is the command's own, never
 * read from argv, where option values (`--format json`) look like command words.
 * The bodies, and with them this module, the composition layer and the AWS SDK
 * clients, are imported when their command runs, never for `--help`.
 */
export const provide =
  (command: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(
      Effect.provide(layer),
      Effect.withSpan(`docket ${command}`, { captureStackTrace: false }),
      Effect.provide(layerTracing),
      Effect.provide(Environment.layer),
    )
