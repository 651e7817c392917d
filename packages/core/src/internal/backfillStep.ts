/**
 * The per-object step of backfill, shared by `Backfill.run` (over a listing)
 * and the Lambda's S3 Batch Operations and Step Functions paths (over the keys
 * of one invocation): compare a batch of listed objects with the cache in one
 * `fingerprints` call, settle what is unchanged, and read and write the rest.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Document from "../Document.js"
import type * as DocumentCache from "../DocumentCache.js"
import * as DocumentKind from "../DocumentKind.js"
import type * as DocumentStore from "../DocumentStore.js"
import * as S3Key from "../S3Key.js"
import * as Bulk from "./bulk.js"

export class BackfillError extends Data.TaggedError("BackfillError")<{
  readonly reason: "BadRange" | "BadFilter" | "ListingFailed" | "CheckpointFailed"
  readonly detail: string
  readonly cause?: unknown
}> {
  override get message() {
    return this.detail
  }
}

/** One of `count` deterministic parts of a listing. */
export interface Shard {
  readonly index: number
  readonly count: number
}

/** Parses `I/N` (0 <= I < N). */
export const parseShard = (text: string): Effect.Effect<Shard, BackfillError> => {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  return match !== null && count >= 1 && index < count
    ? Effect.succeed({ index, count })
    : Effect.fail(
        new BackfillError({
          reason: "BadFilter",
          detail: `--shard ${JSON.stringify(text)} must be I/N with 0 <= I < N, e.g. 0/4`,
        }),
      )
}

/** Whether `key` belongs to `shard`. */
export const inShard = (shard: Shard, key: string): boolean => Bulk.stableHash(key) % shard.count === shard.index

/** Validates and normalises the filters (time bounds to instants). */
export const validate = (
  options: {
    readonly from?: string | undefined
    readonly to?: string | undefined
    readonly kinds?: ReadonlyArray<string> | undefined
    readonly customers?: ReadonlyArray<string> | undefined
  },
  kinds: DocumentKind.Registry,
): Effect.Effect<{ from?: string; to?: string }, BackfillError> =>
  Effect.gen(function* () {
    const instant = (name: string, value: string | undefined) => {
      if (value === undefined) return Effect.succeed(undefined)
      return Option.match(Document.parseInstant(value), {
        onNone: () =>
          Effect.fail(
            new BackfillError({
              reason: "BadRange",
              detail: `--${name} ${JSON.stringify(value)} is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)`,
            }),
          ),
        onSome: (instant) => Effect.succeed(instant),
      })
    }
    const from = yield* instant("from", options.from)
    const to = yield* instant("to", options.to)
    if (from !== undefined && to !== undefined && from >= to) {
      return yield* new BackfillError({
        reason: "BadRange",
        detail: `--from ${options.from} must be before --to ${options.to} (the range is half-open)`,
      })
    }
    for (const kind of options.kinds ?? []) {
      if (kinds.get(kind) === undefined) {
        return yield* new BackfillError({
          reason: "BadFilter",
          detail: `Unknown kind ${JSON.stringify(kind)}: expected one of ${kinds.kinds.map((k) => k.name).join(", ")}`,
        })
      }
    }
    for (const code of options.customers ?? []) {
      if (!Document.isCustomerCode(code)) {
        return yield* new BackfillError({
          reason: "BadFilter",
          detail: `Customer code ${JSON.stringify(code)} does not match ${Document.customerCodeRule}`,
        })
      }
    }
    return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }
  })

/** A listed object: its key and, when the listing says, its ETag. */
export interface Listed {
  readonly key: string
  readonly etag: string | undefined
}

/** A key that failed, and why. */
export interface Failure {
  readonly key: string
  readonly tag: string
  readonly message: string
  /** Whether trying again later may succeed (throttling, unavailability), as opposed to bad data. */
  readonly retryable: boolean
}

/** What the step did with one object. */
export type Outcome = "skipped" | "written" | "unchanged" | "newer" | { readonly failure: Failure }

/** The decided filters of a run. */
export interface Filters {
  readonly from?: string
  readonly to?: string
  readonly kinds?: ReadonlySet<string>
  readonly customers?: ReadonlySet<string>
}

/** What the step needs. */
export interface Context {
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly kinds: DocumentKind.Registry
  readonly prefix: string
  readonly filters: Filters
  readonly dryRun: boolean
  /** Called for every object body read. */
  readonly onBodyRead: () => void
}

/** A classified object: settled by the comparison, or to be read and written. */
export type Step<A extends Listed> =
  | { readonly _tag: "Done"; readonly object: A; readonly outcome: Outcome }
  | {
      readonly _tag: "Process"
      readonly object: A
      readonly parsed: S3Key.ParsedKey
      readonly cached: DocumentCache.Fingerprint | undefined
    }

/** ETags compare without quotes and weak markers. */
export const normaliseEtag = (etag: string | undefined) =>
  // Listed and cached ETags are already bare: no regex for them (two per document of a re-run).
  etag === undefined || (!etag.includes('"') && !etag.startsWith("W/"))
    ? etag
    : etag.replace(/^W\//, "").replace(/"/g, "")

/** Turns any error into a {@link Failure}. */
export const failure = (key: string, error: unknown): { readonly failure: Failure } => {
  const e = error as { _tag?: unknown; message?: unknown; retryable?: unknown }
  return {
    failure: {
      key,
      tag: typeof e?._tag === "string" ? e._tag : "Error",
      message: typeof e?.message === "string" ? e.message : String(error),
      retryable: e?.retryable === true,
    },
  }
}

/** Whether a document of `kind` indexed at `time` for `customers` passes the filters. */
export const matches = (filters: Filters, kind: string, time: string, customers: ReadonlyArray<string>): boolean =>
  (filters.kinds === undefined || filters.kinds.has(kind)) &&
  (filters.from === undefined || time >= filters.from) &&
  (filters.to === undefined || time < filters.to) &&
  (filters.customers === undefined || customers.some((c) => filters.customers?.has(c)))

// An item indexed under another status shard layout is not the same: it goes the long way,
// and the write re-indexes it (the migration to sharding, docs/backfill-at-scale.md).
const sameObject = (cached: DocumentCache.Fingerprint, key: string, etag: string | undefined) =>
  cached._tag === "Cached" &&
  cached.reindex !== true &&
  cached.s3Key === key &&
  cached.etag !== undefined &&
  etag !== undefined &&
  normaliseEtag(cached.etag) === normaliseEtag(etag)

/** An unchanged object the cache holds: `unchanged` when it passes the filters, else `skipped`. */
const unchangedOrSkipped = (
  ctx: Context,
  kind: string,
  time: string,
  cached: DocumentCache.Fingerprint,
  customer: string | undefined,
): Outcome => {
  // The customers are only gathered when a customer filter will read them.
  const customers =
    ctx.filters.customers === undefined
      ? []
      : [...(cached.customers ?? []), ...(customer === undefined ? [] : [customer])]
  return matches(ctx.filters, kind, time, customers) ? "unchanged" : "skipped"
}

/** The cache's fingerprints of a batch, or none when they cannot be read (every key then goes the long way). */
const fingerprintsOf = (ctx: Context, refs: ReadonlyArray<{ readonly kind: string; readonly id: string }>) =>
  refs.length === 0
    ? Effect.succeed<ReadonlyArray<DocumentCache.Fingerprint>>([])
    : ctx.cache.fingerprints(refs).pipe(
        Effect.tapError((error) =>
          Effect.logWarning("backfill.compare").pipe(
            Effect.annotateLogs({
              operation: "backfill.compare",
              outcome: error._tag,
              keys: refs.length,
              error: error.message,
            }),
          ),
        ),
        // Without fingerprints every key goes the long way: nothing is skipped unseen.
        Effect.orElseSucceed((): ReadonlyArray<DocumentCache.Fingerprint> => []),
      )

/** One `fingerprints` call for a batch: what is unchanged is done here, the rest goes on. */
export const classify = <A extends Listed>(
  ctx: Context,
  batch: ReadonlyArray<A>,
): Effect.Effect<ReadonlyArray<Step<A>>> => {
  const { filters } = ctx
  const parsed = batch.map((object) => {
    const p = S3Key.parse(ctx.prefix, object.key, ctx.kinds)
    const keep = Option.isSome(p) && (filters.kinds === undefined || filters.kinds.has(p.value.kind))
    return { object, parsed: keep ? p.value : undefined }
  })
  const refs = parsed.flatMap((p) => (p.parsed === undefined ? [] : [{ kind: p.parsed.kind, id: p.parsed.id }]))
  return Effect.map(fingerprintsOf(ctx, refs), (found) => {
    const byKey = new Map(found.map((f) => [`${f.kind}/${f.id}`, f]))
    return parsed.map(({ object, parsed: p }): Step<A> => {
      if (p === undefined) return { _tag: "Done", object, outcome: "skipped" }
      const cached = byKey.get(`${p.kind}/${p.id}`)
      if (cached !== undefined && cached.time !== undefined && sameObject(cached, object.key, object.etag)) {
        return { _tag: "Done", object, outcome: unchangedOrSkipped(ctx, p.kind, cached.time, cached, p.customer) }
      }
      return { _tag: "Process", object, parsed: p, cached }
    })
  })
}

/**
 * Decides from the object's metadata (and ETag) without reading the body where it
 * can: an outcome, or `undefined` when the body must be read.
 */
const decideFromHead = (
  ctx: Context,
  object: Listed,
  parsed: S3Key.ParsedKey,
  cached: DocumentCache.Fingerprint | undefined,
) =>
  Effect.map(ctx.store.head(object.key), (head): Outcome | undefined => {
    if (Option.isNone(head)) return "skipped"
    const metadata = head.value.metadata
    if (cached !== undefined && cached.time !== undefined && sameObject(cached, object.key, head.value.etag)) {
      return unchangedOrSkipped(ctx, parsed.kind, cached.time, cached, parsed.customer)
    }
    if (Option.isSome(metadata)) {
      const customers =
        parsed.customer === undefined ? metadata.value.customers : [...metadata.value.customers, parsed.customer]
      if (!matches(ctx.filters, parsed.kind, metadata.value.time, customers)) return "skipped"
    }
    return undefined
  })

/** In a dry run: what the write would do, logged, and nothing written. */
const dryRunWrite = (
  object: Listed,
  cached: DocumentCache.Fingerprint | undefined,
  document: Document.AnyDocument,
): Effect.Effect<Outcome> => {
  if (cached?._tag === "Cached" && cached.version !== undefined && cached.version >= document.version) {
    return Effect.succeed(cached.version === document.version ? "unchanged" : "newer")
  }
  return Effect.as(
    Effect.logInfo("backfill.put (dry run)").pipe(
      Effect.annotateLogs({
        operation: "backfill.put",
        outcome: "dry-run",
        key: object.key,
        version: document.version,
      }),
    ),
    "written" as const,
  )
}

/** Writes the document read from S3 to the cache. */
const putToCache = (
  ctx: Context,
  object: Listed,
  cached: DocumentCache.Fingerprint | undefined,
  document: Document.AnyDocument,
  etag: string,
) =>
  // No fingerprint: the batch comparison saw no item, so the put tries a create without a read first.
  Effect.map(
    // A step of the run (its report, progress lines and failures are what a backfill logs at info):
    // one info line per written document would be a hundred million lines for a big bucket.
    ctx.cache.put(document, {
      s3Key: object.key,
      etag,
      step: true,
      ...(cached === undefined ? { likelyAbsent: true } : {}),
    }),
    (outcome): Outcome => (outcome._tag === "Written" ? "written" : "unchanged"),
  )

/** Reads the object and writes it to the cache (or says what it would write, in a dry run). */
export const processObject = (
  ctx: Context,
  object: Listed,
  parsed: S3Key.ParsedKey,
  cached: DocumentCache.Fingerprint | undefined,
): Effect.Effect<Outcome> =>
  Effect.gen(function* () {
    const { kind, id, customer } = parsed
    const { filters } = ctx
    const needsMetadata = filters.from !== undefined || filters.to !== undefined || filters.customers !== undefined
    if (needsMetadata || (cached !== undefined && object.etag === undefined)) {
      const decided = yield* decideFromHead(ctx, object, parsed, cached)
      if (decided !== undefined) return decided
    }
    ctx.onBodyRead()
    const stored = yield* ctx.store.getKey(object.key)
    if (Option.isNone(stored)) return "skipped" as const // deleted since the listing
    const document = stored.value.document
    if (document.kind !== kind || document.id !== id) {
      return failure(
        object.key,
        new DocumentKind.DocumentDecodeError({
          reason: "KindMismatch",
          source: object.key,
          detail: `the key names ${kind}/${id} but the body is ${document.kind}/${document.id}`,
        }),
      )
    }
    const summary = ctx.kinds.summarize(document)
    const customers = customer === undefined ? summary.customers : [...summary.customers, customer]
    if (!matches(filters, kind, summary.time, customers)) return "skipped" as const
    if (ctx.dryRun) return yield* dryRunWrite(object, cached, document)
    return yield* putToCache(ctx, object, cached, document, stored.value.etag)
  }).pipe(
    Effect.catchTag("StaleWriteError", () => Effect.succeed<Outcome>("newer")),
    Effect.catchAll((error) => Effect.succeed(failure(object.key, error))),
  )

/** Runs a classified step to its outcome. */
export const settle = <A extends Listed>(ctx: Context, step: Step<A>): Effect.Effect<Outcome> =>
  step._tag === "Done" ? Effect.succeed(step.outcome) : processObject(ctx, step.object, step.parsed, step.cached)
