/**
 * Reconcile: compare the cache with S3 (the truth) and report drift, optionally
 * repairing it (DESIGN section 6). Drift is one of:
 *
 * - `missing`: a document in S3 that the cache does not hold (or holds only a tombstone of);
 * - `stale`: the cache holds another version or other content than S3;
 * - `orphaned`: the cache holds a document that S3 no longer has;
 * - `expired`: the cache holds an entry past its retention (`expiresAt`) that
 *   DynamoDB has not deleted yet (reads already ignore it);
 * - `unreadable`: an S3 object under a document key that does not decode (cannot be fixed from S3).
 *
 * Repairs are conditional on what reconcile saw, so a write that lands while
 * reconcile runs is never clobbered (the repair is reported as failed instead).
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "./CacheEntry.js"
import * as DocketConfig from "./DocketConfig.js"
import * as Document from "./Document.js"
import * as DocumentCache from "./DocumentCache.js"
import * as DocumentKind from "./DocumentKind.js"
import * as DocumentStore from "./DocumentStore.js"
import * as S3Key from "./S3Key.js"

/** The kinds of drift. */
export type DriftType = "missing" | "stale" | "orphaned" | "expired" | "unreadable"

/** All drift types, in report order. */
export const driftTypes: ReadonlyArray<DriftType> = ["missing", "stale", "orphaned", "expired", "unreadable"]

/** One difference between the cache and S3. */
export interface Drift {
  readonly type: DriftType
  readonly kind: string
  readonly id: string
  /** The S3 key (for orphans: the key the cache points at). */
  readonly key: string
  readonly detail: string
  /** With `fix`: what the repair did. */
  readonly repair?: { readonly outcome: "fixed" } | { readonly outcome: "failed"; readonly error: string }
}

/** What reconcile found (and fixed). */
export interface Report {
  /** Objects listed under the prefix, documents or not. */
  readonly objects: number
  /** Document objects compared with the cache. */
  readonly documents: number
  /** Cache entries examined for orphans; `scan` saw every entry, `query` only live ones in the retention window. */
  readonly cacheEntries: number
  readonly orphanCheck: "scan" | "query"
  readonly counts: Readonly<Record<DriftType, number>>
  readonly drift: ReadonlyArray<Drift>
  readonly fix: boolean
  readonly fixed: number
  readonly fixFailed: number
  readonly durationMs: number
}

/** Options of {@link run}. */
export interface Options {
  /** Repair what can be repaired from S3. Ignored (nothing changes) in a dry run. */
  readonly fix?: boolean
  /** Documents compared at once (default 8). */
  readonly concurrency?: number
  /** Defaults to `DOCKET_DRY_RUN`. */
  readonly dryRun?: boolean
}

/** Whether a report found drift. */
export const hasDrift = (report: Report): boolean => report.drift.length > 0

/** Whether every drift found was repaired (trivially true without drift). */
export const allFixed = (report: Report): boolean =>
  report.drift.every((d) => d.repair !== undefined && d.repair.outcome === "fixed")

const normaliseEtag = (etag: string | undefined) => etag?.replace(/^W\//, "").replace(/"/g, "")

const message = (error: unknown): string => {
  const e = error as { message?: unknown }
  return typeof e?.message === "string" ? e.message : String(error)
}

/**
 * Compares the cache with S3. Fails only when the listing or the orphan scan
 * cannot run; per-document problems are drift or failed repairs in the report.
 */
export const run = (
  options: Options = {},
): Effect.Effect<
  Report,
  DocumentStore.StoreError | DocumentCache.CacheError | DocumentCache.InvalidQueryError,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Effect.gen(function* () {
    const cache = yield* DocumentCache.DocumentCache
    const store = yield* DocumentStore.DocumentStore
    const kinds = yield* DocumentKind.DocumentKinds
    const config = yield* DocketConfig.DocketConfig
    const dryRun = options.dryRun ?? config.dryRun
    const fix = (options.fix ?? false) && !dryRun
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const started = yield* Clock.currentTimeMillis

    let objects = 0
    const seen = new Set<string>()
    const id = (kind: string, docId: string) => `${kind}/${docId}`

    const repair = <E>(drift: Omit<Drift, "repair">, effect: Effect.Effect<unknown, E>): Effect.Effect<Drift> =>
      fix
        ? effect.pipe(
            Effect.as<Drift>({ ...drift, repair: { outcome: "fixed" } }),
            Effect.catchAll((error) =>
              Effect.succeed<Drift>({ ...drift, repair: { outcome: "failed", error: message(error) } }),
            ),
            Effect.tap((d) =>
              Effect.logInfo("reconcile.repair").pipe(
                Effect.annotateLogs({
                  operation: "reconcile.repair",
                  type: d.type,
                  key: d.key,
                  outcome: d.repair?.outcome ?? "none",
                }),
              ),
            ),
          )
        : Effect.succeed(drift)

    const compare = (
      info: DocumentStore.ObjectInfo,
      parsed: S3Key.ParsedKey,
    ): Effect.Effect<Option.Option<Drift>, never> =>
      Effect.gen(function* () {
        const { kind, id: docId } = parsed
        const base = { kind, id: docId, key: info.key }
        const now = yield* Clock.currentTimeMillis
        const entry = yield* cache.get(kind, docId, { includeExpired: true })
        const readS3 = store.getKey(info.key)
        if (Option.isNone(entry) || entry.value._tag === "Tombstone") {
          const stored = yield* readS3
          if (Option.isNone(stored)) return Option.none() // deleted since the listing
          const document = stored.value.document
          return Option.some(
            yield* repair(
              { ...base, type: "missing", detail: `S3 has version ${document.version}; the cache has no document` },
              cache.put(document, {
                s3Key: info.key,
                etag: stored.value.etag,
                ...(Option.isNone(entry) ? { condition: { _tag: "Absent" as const } } : {}),
              }),
            ),
          )
        }
        const cached = entry.value
        if (CacheEntry.isExpired(cached.expiresAt, now)) {
          return Option.some(
            yield* repair(
              {
                ...base,
                type: "expired",
                detail: `cached version ${cached.summary.version} expired at ${new Date(cached.expiresAt * 1000).toISOString()}`,
              },
              cache.delete(kind, docId, { condition: { _tag: "VersionIs", version: cached.summary.version } }),
            ),
          )
        }
        if (cached.etag !== undefined && normaliseEtag(cached.etag) === normaliseEtag(info.etag)) {
          return Option.none()
        }
        const stored = yield* readS3
        if (Option.isNone(stored)) return Option.none()
        const document = stored.value.document
        const same =
          cached.document !== undefined
            ? Document.sameContent(cached.document, document)
            : cached.summary.version === document.version
        if (same) return Option.none()
        return Option.some(
          yield* repair(
            {
              ...base,
              type: "stale",
              detail:
                cached.summary.version === document.version
                  ? `cache and S3 both have version ${document.version} with different content`
                  : `cache has version ${cached.summary.version}, S3 has version ${document.version}`,
            },
            cache.put(document, {
              s3Key: info.key,
              etag: stored.value.etag,
              condition: { _tag: "VersionIs", version: cached.summary.version },
            }),
          ),
        )
      }).pipe(
        Effect.catchAll((error) =>
          Effect.succeed(
            error._tag === "DocumentDecodeError"
              ? Option.some<Drift>({
                  kind: parsed.kind,
                  id: parsed.id,
                  key: info.key,
                  type: "unreadable",
                  detail: error.message,
                })
              : Option.some<Drift>({
                  kind: parsed.kind,
                  id: parsed.id,
                  key: info.key,
                  type: "unreadable",
                  detail: `could not compare: ${message(error)}`,
                }),
          ),
        ),
      )

    const fromS3 = yield* store.list().pipe(
      Stream.tap(() =>
        Effect.sync(() => {
          objects += 1
        }),
      ),
      Stream.filterMap((info) =>
        Option.map(S3Key.parse(config.prefix, info.key, kinds), (parsed) => [info, parsed] as const),
      ),
      Stream.filter(([, parsed]) => {
        const k = id(parsed.kind, parsed.id)
        if (seen.has(k)) return false
        seen.add(k)
        return true
      }),
      Stream.mapEffect(([info, parsed]) => compare(info, parsed), { concurrency, unordered: true }),
      Stream.filterMap((d) => d),
      Stream.runCollect,
    )

    // Orphans: entries the cache has for documents S3 does not list.
    let cacheEntries = 0
    const orphanCheck: Report["orphanCheck"] = cache.scan !== undefined ? "scan" : "query"
    const now = yield* Clock.currentTimeMillis
    const candidates: Stream.Stream<
      { kind: string; id: string; version: number; s3Key: string; expired: boolean },
      DocumentCache.CacheError | DocumentCache.InvalidQueryError
    > =
      cache.scan !== undefined
        ? cache.scan().pipe(
            Stream.filterMap((entry) =>
              entry._tag === "Cached"
                ? Option.some({
                    kind: entry.summary.kind,
                    id: entry.summary.id,
                    version: entry.summary.version,
                    s3Key: entry.s3Key,
                    expired: CacheEntry.isExpired(entry.expiresAt, now),
                  })
                : Option.none(),
            ),
          )
        : cache
            .query({
              target: { _tag: "Time" },
              from: new Date(now - config.ttlDays * 86_400_000).toISOString(),
              // Bounded so the fan-out over monthly buckets stays small; see docs/cli.md.
              to: new Date(now + 5 * 366 * 86_400_000).toISOString(),
            })
            .pipe(
              Stream.map((s) => ({
                kind: s.kind,
                id: s.id,
                version: s.version,
                s3Key: (() => {
                  const kind = kinds.get(s.kind)
                  return kind === undefined ? "" : S3Key.forDocument(config.prefix, kind, s.id)
                })(),
                expired: false,
              })),
            )
    const orphans = yield* candidates.pipe(
      Stream.tap(() =>
        Effect.sync(() => {
          cacheEntries += 1
        }),
      ),
      Stream.filter((c) => !seen.has(id(c.kind, c.id))),
      Stream.mapEffect(
        (c) =>
          Effect.gen(function* () {
            // Confirm: the object may have been created after the listing.
            const head = yield* store.head(c.s3Key).pipe(Effect.orElseSucceed(() => Option.none()))
            if (Option.isSome(head)) return Option.none<Drift>()
            return Option.some(
              yield* repair(
                {
                  type: c.expired ? "expired" : "orphaned",
                  kind: c.kind,
                  id: c.id,
                  key: c.s3Key,
                  detail: c.expired
                    ? `cached version ${c.version} is expired and S3 has no object`
                    : `cached version ${c.version} has no object in S3`,
                },
                cache.delete(c.kind, c.id, { condition: { _tag: "VersionIs", version: c.version } }),
              ),
            )
          }),
        { concurrency, unordered: true },
      ),
      Stream.filterMap((d) => d),
      Stream.runCollect,
    )

    const drift = [...Chunk.toReadonlyArray(fromS3), ...Chunk.toReadonlyArray(orphans)].sort(
      (a, b) => driftTypes.indexOf(a.type) - driftTypes.indexOf(b.type) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    )
    const counts = Object.fromEntries(driftTypes.map((t) => [t, drift.filter((d) => d.type === t).length])) as Record<
      DriftType,
      number
    >
    const durationMs = (yield* Clock.currentTimeMillis) - started
    const report: Report = {
      objects,
      documents: seen.size,
      cacheEntries,
      orphanCheck,
      counts,
      drift,
      fix,
      fixed: drift.filter((d) => d.repair?.outcome === "fixed").length,
      fixFailed: drift.filter((d) => d.repair?.outcome === "failed").length,
      durationMs,
    }
    yield* Effect.logInfo("reconcile").pipe(
      Effect.annotateLogs({
        operation: "reconcile",
        outcome: drift.length === 0 ? "clean" : "drift",
        objects,
        documents: seen.size,
        ...counts,
        fixed: report.fixed,
        fixFailed: report.fixFailed,
        durationMs,
      }),
    )
    return report
  }).pipe(Effect.withSpan("Reconcile.run"))
