/**
 * Reconcile: compare the cache with S3 (the truth) and report drift, optionally
 * repairing it (DESIGN section 6). A merge-join of the S3 listing (or an S3
 * Inventory) with a parallel, segmented Scan of the table: both sides are
 * sorted by document key through an external sort (runs spilled to temporary
 * files), then walked together. No object body is read unless the ETags
 * differ, and every cache entry is seen whatever its time. On a clean state a
 * run costs the listing plus the Scan pages (each up to 1 MB of items).
 *
 * Drift is one of:
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
import type { Drift, DriftType, Options, Report, Source } from "./internal/reconcileTypes.js"
import { driftTypes, ReconcileError } from "./internal/reconcileTypes.js"
import * as Sort from "./internal/sort.js"
import * as S3Key from "./S3Key.js"

export type { Drift, DriftType, Options, Progress, Report, Source } from "./internal/reconcileTypes.js"
export { driftTypes, ReconcileError } from "./internal/reconcileTypes.js"

/** Whether a report found drift. */
export const hasDrift = (report: Report): boolean => driftTypes.some((t) => report.counts[t] > 0)

/** Whether every drift found was repaired (trivially true without drift). */
export const allFixed = (report: Report): boolean => report.fixFailed === 0 && report.fixed === total(report)

const total = (report: Report) => driftTypes.reduce((n, t) => n + report.counts[t], 0)

/** ETags compare without quotes and weak markers. */
export const normaliseEtag = (etag: string | undefined): string | undefined =>
  etag?.replace(/^W\//, "").replace(/"/g, "")

const message = (error: unknown): string => {
  const e = error as { message?: unknown }
  return typeof e?.message === "string" ? e.message : String(error)
}

interface Listed {
  readonly k: string
  readonly key: string
  readonly etag: string
}

interface Cached {
  readonly k: string
  readonly f: DocumentCache.Fingerprint
}

/**
 * Compares the cache with S3. Fails only when the listing, the Scan or the sort
 * cannot run; per-document problems are drift or failed repairs in the report.
 */
export const run = <E = never>(
  options: Options<E> = {},
): Effect.Effect<
  Report,
  ReconcileError,
  DocumentCache.DocumentCache | DocumentStore.DocumentStore | DocumentKind.DocumentKinds | DocketConfig.DocketConfig
> =>
  Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* DocumentCache.DocumentCache
      const store = yield* DocumentStore.DocumentStore
      const kinds = yield* DocumentKind.DocumentKinds
      const config = yield* DocketConfig.DocketConfig
      const dryRun = options.dryRun ?? config.dryRun
      const fix = (options.fix ?? false) && !dryRun
      const concurrency = Math.max(1, options.concurrency ?? 8)
      const segments = Math.max(1, options.segments ?? 4)
      const maxDrift = Math.max(0, options.maxDriftReported ?? 1000)
      const started = yield* Clock.currentTimeMillis
      const sortError = (cause: unknown) =>
        new ReconcileError({
          reason: "SortFailed",
          detail: `Sorting to temporary files failed: ${message(cause)}`,
          cause,
        })

      let objects = 0
      let cacheEntries = 0
      // Progress: entries read (document keys and cache entries), then entries joined.
      let phase: "reading" | "comparing" = "reading"
      let read = 0
      let joined = 0
      let driftFound = 0
      let bodiesRead = 0
      let lastReport = Number.NEGATIVE_INFINITY
      const everyMs = Math.max(0, options.progressEveryMs ?? 1000)
      const emit = (force: boolean): Effect.Effect<void> => {
        const onProgress = options.onProgress
        if (onProgress === undefined) return Effect.void
        return Effect.flatMap(Clock.currentTimeMillis, (t) => {
          if (!force && t - lastReport < everyMs) return Effect.void
          lastReport = t
          const reading = phase === "reading"
          return onProgress({
            phase,
            done: read + joined,
            total: reading ? undefined : 2 * read,
            objects,
            cacheEntries,
            drift: driftFound,
            bodiesRead,
            elapsedMs: t - started,
          })
        })
      }
      const tick = <A>(chunk: Chunk.Chunk<A>) => Effect.as(emit(false), chunk)
      const source: { readonly kind: "listing" | "inventory"; readonly objects: Source<unknown> } = options.source ?? {
        kind: "listing",
        objects: store.list(),
      }
      const listed = source.objects.pipe(
        Stream.mapError(
          (cause) =>
            new ReconcileError({ reason: "ListingFailed", detail: `Listing S3 failed: ${message(cause)}`, cause }),
        ),
        Stream.filterMap((info): Option.Option<Listed> => {
          objects++
          return Option.map(S3Key.parse(config.prefix, info.key, kinds), (p) => {
            read++
            return { k: `${p.kind}/${p.id}`, key: info.key, etag: info.etag }
          })
        }),
        Stream.mapChunksEffect(tick),
      )
      const scanned = cache.scan({ segments }).pipe(
        Stream.mapError(
          (cause) =>
            new ReconcileError({ reason: "ScanFailed", detail: `Scanning the cache failed: ${message(cause)}`, cause }),
        ),
        Stream.map((f): Cached => {
          cacheEntries++
          read++
          return { k: `${f.kind}/${f.id}`, f }
        }),
        Stream.mapChunksEffect(tick),
      )
      const runSize = options.runSize !== undefined ? { runSize: options.runSize } : {}
      // Both sides are read at once: the listing and the Scan overlap.
      const [left, right] = yield* Effect.all(
        [
          Sort.spill(listed, { key: (x: Listed) => x.k, ...runSize }, sortError),
          Sort.spill(scanned, { key: (x: Cached) => x.k, ...runSize }, sortError),
        ],
        { concurrency: 2 },
      )
      yield* emit(true)
      phase = "comparing"
      yield* emit(true)

      let documents = 0
      let compared = 0
      const now = yield* Clock.currentTimeMillis

      const repair = <E2>(drift: Omit<Drift, "repair">, effect: Effect.Effect<unknown, E2>): Effect.Effect<Drift> =>
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

      const readS3 = (key: string) =>
        Effect.suspend(() => {
          bodiesRead++
          return store.getKey(key)
        })

      /** S3 has the document, the cache has no live document for it. */
      const missing = (object: Listed, kind: string, id: string, tombstone: boolean) =>
        Effect.gen(function* () {
          const stored = yield* readS3(object.key)
          if (Option.isNone(stored)) return Option.none<Drift>() // deleted since the listing
          const document = stored.value.document
          return Option.some(
            yield* repair(
              {
                kind,
                id,
                key: object.key,
                type: "missing",
                detail: `S3 has version ${document.version}; the cache has ${tombstone ? "a tombstone" : "no document"}`,
              },
              cache.put(document, {
                s3Key: object.key,
                etag: stored.value.etag,
                ...(tombstone ? {} : { condition: { _tag: "Absent" as const } }),
              }),
            ),
          )
        })

      /** Both sides hold the document and the ETags differ: read both bodies and compare. */
      const differing = (object: Listed, f: DocumentCache.Fingerprint) =>
        Effect.gen(function* () {
          const stored = yield* readS3(object.key)
          if (Option.isNone(stored)) return Option.none<Drift>()
          const document = stored.value.document
          const entry = yield* cache.get(f.kind, f.id, { includeExpired: true })
          const cached = Option.getOrUndefined(entry)
          if (cached === undefined || cached._tag === "Tombstone") return yield* missing(object, f.kind, f.id, true)
          const same =
            cached.document !== undefined
              ? Document.sameContent(cached.document, document)
              : cached.summary.version === document.version
          if (same) return Option.none<Drift>()
          return Option.some(
            yield* repair(
              {
                kind: f.kind,
                id: f.id,
                key: object.key,
                type: "stale",
                detail:
                  cached.summary.version === document.version
                    ? `cache and S3 both have version ${document.version} with different content`
                    : `cache has version ${cached.summary.version}, S3 has version ${document.version}`,
              },
              cache.put(document, {
                s3Key: object.key,
                etag: stored.value.etag,
                condition: { _tag: "VersionIs", version: cached.summary.version },
              }),
            ),
          )
        })

      /** The cache holds a document S3 did not list: confirm with a HEAD (it may be newer than the listing). */
      const orphan = (f: DocumentCache.Fingerprint & { readonly s3Key: string; readonly version: number }) =>
        Effect.gen(function* () {
          const head = yield* store.head(f.s3Key).pipe(Effect.orElseSucceed(() => Option.none()))
          if (Option.isSome(head)) return Option.none<Drift>()
          const expired = CacheEntry.isExpired(f.expiresAt, now)
          return Option.some(
            yield* repair(
              {
                type: expired ? "expired" : "orphaned",
                kind: f.kind,
                id: f.id,
                key: f.s3Key,
                detail: expired
                  ? `cached version ${f.version} is expired and S3 has no object`
                  : `cached version ${f.version} has no object in S3`,
              },
              cache.delete(f.kind, f.id, { condition: { _tag: "VersionIs", version: f.version } }),
            ),
          )
        })

      const compare = (row: Sort.Joined<Listed, Cached>): Effect.Effect<Option.Option<Drift>> => {
        const f = row.right[0]?.f
        const [kind, ...rest] = row.key.split("/")
        const id = rest.join("/")
        if (row.left.length === 0) {
          return f !== undefined && f._tag === "Cached" && f.s3Key !== undefined && f.version !== undefined
            ? orphan({ ...f, s3Key: f.s3Key, version: f.version })
            : Effect.succeed(Option.none()) // a tombstone of a deleted object: as it should be
        }
        documents++
        // Several keys can hold one document (`customers/{code}/...`): compare the one the cache points at.
        const object = row.left.find((l) => l.key === f?.s3Key) ?? (row.left[0] as Listed)
        const base = { kind: kind as string, id, key: object.key }
        return Effect.gen(function* () {
          if (f === undefined || f._tag === "Tombstone") return yield* missing(object, base.kind, id, f !== undefined)
          if (CacheEntry.isExpired(f.expiresAt, now)) {
            return Option.some(
              yield* repair(
                {
                  ...base,
                  type: "expired",
                  detail: `cached version ${f.version} expired at ${new Date(f.expiresAt * 1000).toISOString()}`,
                },
                cache.delete(f.kind, f.id, { condition: { _tag: "VersionIs", version: f.version ?? 0 } }),
              ),
            )
          }
          compared++
          if (f.etag !== undefined && normaliseEtag(f.etag) === normaliseEtag(object.etag)) return Option.none()
          return yield* differing(object, f)
        }).pipe(
          Effect.catchAll((error) =>
            Effect.succeed(
              Option.some<Drift>({
                ...base,
                type: "unreadable",
                detail: error._tag === "DocumentDecodeError" ? error.message : `could not compare: ${message(error)}`,
              }),
            ),
          ),
        )
      }

      const counts: Record<DriftType, number> = { missing: 0, stale: 0, orphaned: 0, expired: 0, unreadable: 0 }
      let fixed = 0
      let fixFailed = 0
      const kept: Array<Drift> = []
      /** A row whose ETags agree on a live entry: clean, counted here without a fiber. */
      const clean = (row: Sort.Joined<Listed, Cached>): boolean => {
        const f = row.right[0]?.f
        if (row.left.length === 0 || f === undefined || f._tag !== "Cached" || f.etag === undefined) return false
        if (CacheEntry.isExpired(f.expiresAt, now)) return false
        const object = row.left.find((l) => l.key === f.s3Key) ?? (row.left[0] as Listed)
        if (normaliseEtag(f.etag) !== normaliseEtag(object.etag)) return false
        documents++
        compared++
        return true
      }
      yield* Sort.joinStream(
        left,
        right,
        (l) => l.k,
        (r) => r.k,
        sortError,
      ).pipe(
        Stream.rechunk(512),
        Stream.mapChunksEffect((rows) => {
          Chunk.forEach(rows, (row) => {
            joined += row.left.length + row.right.length
          })
          return tick(Chunk.filter(rows, (row) => !clean(row)))
        }),
        Stream.mapEffect(compare, { concurrency, unordered: true }),
        Stream.runForEach((found) =>
          Effect.sync(() => {
            if (Option.isNone(found)) return
            const d = found.value
            driftFound++
            counts[d.type]++
            if (d.repair?.outcome === "fixed") fixed++
            if (d.repair?.outcome === "failed") fixFailed++
            if (kept.length < maxDrift) kept.push(d)
          }),
        ),
      )

      yield* emit(true)
      const drift = kept.sort(
        (a, b) =>
          driftTypes.indexOf(a.type) - driftTypes.indexOf(b.type) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
      )
      const durationMs = (yield* Clock.currentTimeMillis) - started
      const report: Report = {
        source: source.kind,
        objects,
        documents,
        cacheEntries,
        orphanCheck: "scan",
        segments,
        compared,
        bodiesRead,
        counts,
        drift,
        driftTruncated: drift.length < driftTypes.reduce((n, t) => n + counts[t], 0),
        fix,
        fixed,
        fixFailed,
        durationMs,
      }
      yield* Effect.logInfo("reconcile").pipe(
        Effect.annotateLogs({
          operation: "reconcile",
          outcome: hasDrift(report) ? "drift" : "clean",
          objects,
          documents,
          cacheEntries,
          compared,
          bodiesRead,
          segments,
          ...counts,
          fixed,
          fixFailed,
          durationMs,
        }),
      )
      return report
    }),
  ).pipe(Effect.withSpan("Reconcile.run"))
