/**
 * `docket put`, `docket get`, `docket delete`: documents through the cache to
 * S3 (write-through) and back (fallback read). Their declarations are in
 * `Cli.ts`; this module is imported when one of them runs.
 *
 * @since 0.1.0
 */

import * as DocumentKind from "@docket/core/DocumentKind"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError } from "../CliError.js"
import * as GlobalOptions from "../GlobalOptions.js"
import * as Input from "../Input.js"
import * as Output from "../Output.js"
import * as Progress from "../Progress.js"
import * as Services from "../Services.js"

/** What `put` reports for one document. */
interface PutRow {
  readonly source: string
  readonly kind: string
  readonly id: string
  readonly version: number
  readonly outcome: string
  readonly key?: string
  readonly error?: string
}

const failIfAny = (failed: number, total: number, what: string) =>
  failed > 0
    ? Effect.fail(new CliError({ reason: "Failure", message: `${failed} of ${total} ${what} failed` }))
    : Effect.void

/** Fails with the registry's own message when `kind` is not registered (the one check `get`/`delete` need). */
const knownKind = (kind: string) =>
  Effect.flatMap(DocumentKind.DocumentKinds, (kinds) =>
    kinds.get(kind) !== undefined
      ? Effect.void
      : Effect.fail(
          new CliError({
            reason: "BadInput",
            message: `Unknown kind ${JSON.stringify(kind)}: expected one of ${kinds.kinds.map((k) => k.name).join(", ")}`,
          }),
        ),
  )

/** Writes one parsed document; a failure becomes a `failed` row (the others still run). */
const putOne = (p: Input.Parsed) =>
  Effect.flatMap(Services.Documents, (documents) => documents.write(p.document)).pipe(
    Effect.map(
      (r): PutRow => ({
        source: p.source,
        kind: p.document.kind,
        id: p.document.id,
        version: p.document.version,
        outcome: r.outcome,
        key: r.key,
      }),
    ),
    Effect.catchAll((error) =>
      Effect.succeed<PutRow>({
        source: p.source,
        kind: p.document.kind,
        id: p.document.id,
        version: p.document.version,
        outcome: "failed",
        error: error.message,
      }),
    ),
  )

const printPut = (format: GlobalOptions.Format, results: ReadonlyArray<PutRow>, failed: number) =>
  format === "json"
    ? Output.line(JSON.stringify({ results, failed, total: results.length }))
    : format === "ndjson"
      ? Effect.forEach(results, (r) => Output.line(JSON.stringify(r)), { discard: true })
      : Output.line(
          Output.table(
            ["OUTCOME", "KIND", "ID", "V", "SOURCE / ERROR"],
            results.map((r) => [r.outcome, r.kind, r.id, String(r.version), r.error ?? r.source]),
          ),
        )

/** `docket put FILE|-`: validate every document first (nothing is written if any is invalid), then write. */
const runPut = (o: { readonly file: string; readonly concurrency: number }) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    const kinds = yield* DocumentKind.DocumentKinds
    const text = yield* Input.readText(o.file)
    const parsed = yield* Input.parseDocuments(text, o.file, kinds)
    const keys = new Set(parsed.map((p) => `${p.document.kind}/${p.document.id}`))
    // Several versions of one document in one input are written in input order.
    const concurrency = keys.size < parsed.length ? 1 : Math.max(1, o.concurrency)
    // NDJSON of several documents: a progress bar (total, rate, ETA) on stderr.
    const progress =
      parsed.length > 1 ? yield* Progress.make({ label: "put", total: parsed.length, format }) : undefined
    const results = yield* Effect.forEach(
      parsed,
      (p) =>
        putOne(p).pipe(
          Effect.tap((r) => (progress === undefined ? Effect.void : progress.advance(1, { [r.outcome]: 1 }))),
        ),
      { concurrency },
    )
    if (progress !== undefined) yield* progress.finish
    // A rolled-back write did not reach S3: the caller must not take it as written (exit 1).
    const failed = results.filter((r) => r.outcome === "failed" || r.outcome === "rolled-back").length
    yield* printPut(format, results, failed)
    yield* failIfAny(failed, results.length, "documents")
  })

/** `docket get KIND ID` */
const runGet = (o: { readonly kind: string; readonly id: string }) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    yield* knownKind(o.kind)
    const documents = yield* Services.Documents
    const found = yield* documents.read(o.kind, o.id)
    if (Option.isNone(found)) {
      return yield* new CliError({ reason: "Failure", message: `${o.kind}/${o.id} not found` })
    }
    yield* Output.line(format === "table" ? JSON.stringify(found.value, null, 2) : JSON.stringify(found.value))
  })

/** `docket delete KIND ID` */
const runDelete = (o: { readonly kind: string; readonly id: string }) =>
  Effect.gen(function* () {
    const { format } = yield* GlobalOptions.root
    yield* knownKind(o.kind)
    const documents = yield* Services.Documents
    const result = yield* documents.remove(o.kind, o.id)
    if (format === "table") yield* Output.line(`${result.outcome}  ${o.kind}/${o.id}  ${result.key}`)
    else yield* Output.line(JSON.stringify({ kind: o.kind, id: o.id, ...result }))
    if (result.outcome === "rolled-back") yield* failIfAny(1, 1, "deletes")
  })

/** `docket put FILE|-` */
export const put = (o: { readonly file: string; readonly concurrency: number }) =>
  runPut(o).pipe(Services.provide("put"))

/** `docket get KIND ID` */
export const get = (o: { readonly kind: string; readonly id: string }) => runGet(o).pipe(Services.provide("get"))

/** `docket delete KIND ID` */
export const del = (o: { readonly kind: string; readonly id: string }) => runDelete(o).pipe(Services.provide("delete"))
