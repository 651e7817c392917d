/**
 * What the Lambda handler tests share (BatchBackfill, EventHandler,
 * ScheduledTask, SqsDelivery): the change document they write, a cache whose
 * puts fail, a console that captures its lines (the EMF output), and the layer a
 * handler runs on over memory backends.
 */
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentStore from "@docket/core/DocumentStore"
import * as MetricsExport from "@docket/core/MetricsExport"
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** A change document for customer `acme` (a valid one: decoded by the default kinds). */
export const change = (id: string, version = 1) => ({
  kind: "change",
  id,
  version,
  title: `Change ${id}`,
  customers: ["acme"],
  status: "approved",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-01T10:00:00Z",
})

/** `cache`, but every put fails with a `CacheError` of `reason` naming the document. */
export const failingPuts = (
  cache: DocumentCache.Service,
  reason: DocumentCache.CacheError["reason"],
): DocumentCache.Service => ({
  ...cache,
  put: (document) =>
    Effect.fail(new DocumentCache.CacheError({ reason, operation: "put", key: `${document.kind}/${document.id}` })),
})

/** A console whose `log` lines (EMF metric lines among them) land in `lines`. */
export const capturedConsole: Effect.Effect<{ readonly console: Console.Console; readonly lines: Array<string> }> =
  Effect.map(Effect.console, (console) => {
    const lines: Array<string> = []
    return {
      lines,
      console: {
        ...console,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => lines.push(args.map(String).join(" "))),
        unsafe: { ...console.unsafe, log: (...args: ReadonlyArray<unknown>) => lines.push(args.map(String).join(" ")) },
      } as Console.Console,
    }
  })

/**
 * The layer a handler runs on: `store` and `cache`, the metrics exporter of the
 * table `docket-test`, and `logging` (a logger or a log level), over `base`
 * (settings and kinds), which it also provides.
 */
export const layer = <B>(options: {
  readonly store: DocumentStore.Service
  readonly cache: DocumentCache.Service
  readonly logging: Layer.Layer<never>
  readonly base: Layer.Layer<B>
}) =>
  Layer.mergeAll(
    Layer.succeed(DocumentStore.DocumentStore, options.store),
    Layer.succeed(DocumentCache.DocumentCache, options.cache),
    MetricsExport.layer({ table: "docket-test" }),
    options.logging,
  ).pipe(Layer.provideMerge(options.base))
