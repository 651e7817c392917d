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
  readonly reason: "BadRange" | "BadFilter" | "ListingFailed"
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
export const normaliseEtag = (etag: string | undefined) => etag?.replace(/^W\//, "").replace(/"/g, "")

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

/** Builds the step. */
export const make = (ctx: Context) => {
  const { cache, store, kinds, filters } = ctx
  const needsMetadata = filters.from !== undefined || filters.to !== undefined || filters.customers !== undefined

  const matches = (kind: string, time: string, customers: ReadonlyArray<string>): boolean =>
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

  /** One `fingerprints` call for a batch: what is unchanged is done here, the rest goes on. */
  const classify = <A extends Listed>(batch: ReadonlyArray<A>): Effect.Effect<ReadonlyArray<Step<A>>> =>
    Effect.gen(function* () {
      const parsed = batch.map((object) => {
        const p = S3Key.parse(ctx.prefix, object.key, kinds)
        const keep = Option.isSome(p) && (filters.kinds === undefined || filters.kinds.has(p.value.kind))
        return { object, parsed: keep ? p.value : undefined }
      })
      const refs = parsed.flatMap((p) => (p.parsed === undefined ? [] : [{ kind: p.parsed.kind, id: p.parsed.id }]))
      const found =
        refs.length === 0
          ? []
          : yield* cache.fingerprints(refs).pipe(
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
              Effect.orElseSucceed(() => []),
            )
      const byKey = new Map(found.map((f) => [`${f.kind}/${f.id}`, f]))
      return parsed.map(({ object, parsed: p }): Step<A> => {
        if (p === undefined) return { _tag: "Done", object, outcome: "skipped" }
        const cached = byKey.get(`${p.kind}/${p.id}`)
        if (cached !== undefined && cached.time !== undefined && sameObject(cached, object.key, object.etag)) {
          const customers = [...(cached.customers ?? []), ...(p.customer === undefined ? [] : [p.customer])]
          return { _tag: "Done", object, outcome: matches(p.kind, cached.time, customers) ? "unchanged" : "skipped" }
        }
        return { _tag: "Process", object, parsed: p, cached }
      })
    })

  /** Reads the object and writes it to the cache (or says what it would write, in a dry run). */
  const process = (
    object: Listed,
    parsed: S3Key.ParsedKey,
    cached: DocumentCache.Fingerprint | undefined,
  ): Effect.Effect<Outcome> =>
    Effect.gen(function* () {
      const { kind, id, customer } = parsed
      if (needsMetadata || (cached !== undefined && object.etag === undefined)) {
        // Decide from the object's metadata (and ETag) without reading the body where we can.
        const head = yield* store.head(object.key)
        if (Option.isNone(head)) return "skipped" as const
        const metadata = head.value.metadata
        if (cached !== undefined && cached.time !== undefined && sameObject(cached, object.key, head.value.etag)) {
          const customers = [...(cached.customers ?? []), ...(customer === undefined ? [] : [customer])]
          return matches(kind, cached.time, customers) ? ("unchanged" as const) : ("skipped" as const)
        }
        if (Option.isSome(metadata)) {
          const customers = customer === undefined ? metadata.value.customers : [...metadata.value.customers, customer]
          if (!matches(kind, metadata.value.time, customers)) return "skipped" as const
        }
      }
      ctx.onBodyRead()
      const stored = yield* store.getKey(object.key)
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
      const summary = kinds.summarize(document)
      const customers = customer === undefined ? summary.customers : [...summary.customers, customer]
      if (!matches(kind, summary.time, customers)) return "skipped" as const
      if (ctx.dryRun) {
        if (cached?._tag === "Cached" && cached.version !== undefined && cached.version >= document.version) {
          return cached.version === document.version ? ("unchanged" as const) : ("newer" as const)
        }
        yield* Effect.logInfo("backfill.put (dry run)").pipe(
          Effect.annotateLogs({
            operation: "backfill.put",
            outcome: "dry-run",
            key: object.key,
            version: document.version,
          }),
        )
        return "written" as const
      }
      // No fingerprint: the batch comparison saw no item, so the put tries a create without a read first.
      const outcome = yield* cache.put(document, {
        s3Key: object.key,
        etag: stored.value.etag,
        ...(cached === undefined ? { likelyAbsent: true } : {}),
      })
      return outcome._tag === "Written" ? ("written" as const) : ("unchanged" as const)
    }).pipe(
      Effect.catchTag("StaleWriteError", () => Effect.succeed<Outcome>("newer")),
      Effect.catchAll((error) => Effect.succeed(failure(object.key, error))),
    )

  /** Runs a classified step to its outcome. */
  const settle = <A extends Listed>(step: Step<A>): Effect.Effect<Outcome> =>
    step._tag === "Done" ? Effect.succeed(step.outcome) : process(step.object, step.parsed, step.cached)

  return { classify, process, settle, matches }
}
