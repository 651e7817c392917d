/**
 * The steps of one reconcile run, each named: read the listing and the Scan
 * (`readListing`, `readScan`, sorted together by `sortBoth`), merge-join them
 * (`mergeJoin`: `isClean` rows are counted without a fiber, the others go to
 * `compareRow`), and for each kind of drift the step that confirms and repairs it
 * (`resolveMissing`, `resolveDiffering`, `resolveOrphan`, `resolveExpired`, all
 * through `repair`). `Reconcile.run` builds the {@link Run} record once and calls
 * them in order; the counters live in its {@link Tally}.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as CacheEntry from "../CacheEntry.js"
import type * as DocketConfig from "../DocketConfig.js"
import * as Document from "../Document.js"
import type * as DocumentCache from "../DocumentCache.js"
import type * as DocumentKind from "../DocumentKind.js"
import type * as DocumentStore from "../DocumentStore.js"
import * as S3Key from "../S3Key.js"
import type { Service as CacheService } from "./cacheTypes.js"
import type { Drift, DriftType, Options, Source } from "./reconcileTypes.js"
import { driftTypes, ReconcileError } from "./reconcileTypes.js"
import * as Sort from "./sort.js"

/** A document key of the listing. */
export interface Listed {
  readonly k: string
  readonly key: string
  readonly etag: string
}

/** A cache entry of the Scan. */
export interface Cached {
  readonly k: string
  readonly f: DocumentCache.Fingerprint
}

/** What the run counts as it goes (progress and the report read it). */
export interface Tally {
  phase: "reading" | "comparing"
  objects: number
  cacheEntries: number
  /** Entries read (document keys and cache entries), then entries joined. */
  read: number
  joined: number
  driftFound: number
  bodiesRead: number
  documents: number
  compared: number
  lastReport: number
  readonly counts: Record<DriftType, number>
  fixed: number
  fixFailed: number
  readonly kept: Array<Drift>
}

/** A fresh tally. */
export const tally = (): Tally => ({
  phase: "reading",
  objects: 0,
  cacheEntries: 0,
  read: 0,
  joined: 0,
  driftFound: 0,
  bodiesRead: 0,
  documents: 0,
  compared: 0,
  lastReport: Number.NEGATIVE_INFINITY,
  counts: { missing: 0, stale: 0, orphaned: 0, expired: 0, unreadable: 0 },
  fixed: 0,
  fixFailed: 0,
  kept: [],
})

/** The services, settings and counters of one run, built once by `Reconcile.run`. */
export interface Run {
  readonly cache: CacheService
  readonly store: DocumentStore.Service
  readonly kinds: DocumentKind.Registry
  readonly config: DocketConfig.Settings
  readonly fix: boolean
  readonly concurrency: number
  readonly segments: number
  readonly maxDrift: number
  readonly everyMs: number
  readonly started: number
  readonly onProgress: Options<unknown>["onProgress"]
  readonly tally: Tally
}

/** The text of any failure, for a report line. */
export const message = (error: unknown): string => {
  const e = error as { message?: unknown }
  return typeof e?.message === "string" ? e.message : String(error)
}

/** ETags compare without quotes and weak markers. */
export const normaliseEtag = (etag: string | undefined): string | undefined =>
  etag?.replace(/^W\//, "").replace(/"/g, "")

/** The temporary sort files failed. */
export const sortError = (cause: unknown) =>
  new ReconcileError({
    reason: "SortFailed",
    detail: `Sorting to temporary files failed: ${message(cause)}`,
    cause,
  })

/** Reports progress: at most every `progressEveryMs`, or now when `force`. */
export const emitProgress = (run: Run, force: boolean): Effect.Effect<void> => {
  const onProgress = run.onProgress
  if (onProgress === undefined) return Effect.void
  const t = run.tally
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (!force && now - t.lastReport < run.everyMs) return Effect.void
    t.lastReport = now
    const reading = t.phase === "reading"
    return onProgress({
      phase: t.phase,
      done: t.read + t.joined,
      total: reading ? undefined : 2 * t.read,
      objects: t.objects,
      cacheEntries: t.cacheEntries,
      drift: t.driftFound,
      bodiesRead: t.bodiesRead,
      elapsedMs: now - run.started,
    })
  })
}

const tick =
  (run: Run) =>
  <A>(chunk: Chunk.Chunk<A>) =>
    Effect.as(emitProgress(run, false), chunk)

/** The S3 side: the document keys of the listing (or inventory), counted as read. */
export const readListing = <E>(run: Run, objects: Source<E>): Stream.Stream<Listed, ReconcileError> =>
  objects.pipe(
    Stream.mapError(
      (cause) => new ReconcileError({ reason: "ListingFailed", detail: `Listing S3 failed: ${message(cause)}`, cause }),
    ),
    Stream.filterMap((info): Option.Option<Listed> => {
      run.tally.objects++
      return Option.map(S3Key.parse(run.config.prefix, info.key, run.kinds), (p) => {
        run.tally.read++
        return { k: `${p.kind}/${p.id}`, key: info.key, etag: info.etag }
      })
    }),
    Stream.mapChunksEffect(tick(run)),
  )

/** The cache side: every entry of a segmented Scan, counted as read. */
export const readScan = (run: Run): Stream.Stream<Cached, ReconcileError> =>
  run.cache.scan({ segments: run.segments }).pipe(
    Stream.mapError(
      (cause) =>
        new ReconcileError({ reason: "ScanFailed", detail: `Scanning the cache failed: ${message(cause)}`, cause }),
    ),
    Stream.map((f): Cached => {
      run.tally.cacheEntries++
      run.tally.read++
      return { k: `${f.kind}/${f.id}`, f }
    }),
    Stream.mapChunksEffect(tick(run)),
  )

/** Both sides sorted by document key at once (the listing and the Scan overlap), spilled to temporary files. */
export const sortBoth = (
  listed: Stream.Stream<Listed, ReconcileError>,
  scanned: Stream.Stream<Cached, ReconcileError>,
  runSize: number | undefined,
) =>
  Effect.all(
    [
      Sort.spill(listed, { key: (x: Listed) => x.k, runSize }, sortError),
      Sort.spill(scanned, { key: (x: Cached) => x.k, runSize }, sortError),
    ],
    // Stryker disable next-line ObjectLiteral: speed only (both sides are read at once or one after the other)
    { concurrency: 2 },
  )

type Repair = NonNullable<Drift["repair"]>

/** With `fix`, runs the repair and records its outcome on the drift (and in the log); else the drift as found. */
export const repair = <E>(
  run: Run,
  drift: Omit<Drift, "repair">,
  effect: Effect.Effect<unknown, E>,
): Effect.Effect<Drift> =>
  run.fix
    ? effect.pipe(
        Effect.as<Repair>({ outcome: "fixed" }),
        Effect.catchAll((error) => Effect.succeed<Repair>({ outcome: "failed", error: message(error) })),
        Effect.tap((repaired) =>
          Effect.logInfo("reconcile.repair").pipe(
            Effect.annotateLogs({
              operation: "reconcile.repair",
              type: drift.type,
              key: drift.key,
              outcome: repaired.outcome,
            }),
          ),
        ),
        Effect.map((repaired): Drift => ({ ...drift, repair: repaired })),
      )
    : Effect.succeed(drift)

const readS3 = (run: Run, key: string) =>
  Effect.suspend(() => {
    run.tally.bodiesRead++
    return run.store.getKey(key)
  })

/** S3 has the document, the cache has no live document for it: put it (over the tombstone, or where absent). */
export const resolveMissing = (run: Run, object: Listed, kind: string, id: string, tombstone: boolean) =>
  Effect.gen(function* () {
    const stored = yield* readS3(run, object.key)
    if (Option.isNone(stored)) return Option.none<Drift>() // deleted since the listing
    const document = stored.value.document
    return Option.some(
      yield* repair(
        run,
        {
          kind,
          id,
          key: object.key,
          type: "missing",
          detail: `S3 has version ${document.version}; the cache has ${tombstone ? "a tombstone" : "no document"}`,
        },
        run.cache.put(document, {
          s3Key: object.key,
          etag: stored.value.etag,
          ...(tombstone ? {} : { condition: { _tag: "Absent" as const } }),
        }),
      ),
    )
  })

/** Both sides hold the document and the ETags differ: read both bodies, compare, and put S3's over the cached version. */
export const resolveDiffering = (run: Run, object: Listed, f: DocumentCache.Fingerprint) =>
  Effect.gen(function* () {
    const stored = yield* readS3(run, object.key)
    if (Option.isNone(stored)) return Option.none<Drift>()
    const document = stored.value.document
    const entry = yield* run.cache.get(f.kind, f.id, { includeExpired: true })
    const cached = Option.getOrUndefined(entry)
    if (cached === undefined || cached._tag === "Tombstone")
      return yield* resolveMissing(run, object, f.kind, f.id, true)
    const same =
      cached.document !== undefined
        ? Document.sameContent(cached.document, document)
        : cached.summary.version === document.version
    if (same) return Option.none<Drift>()
    return Option.some(
      yield* repair(
        run,
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
        run.cache.put(document, {
          s3Key: object.key,
          etag: stored.value.etag,
          condition: { _tag: "VersionIs", version: cached.summary.version },
        }),
      ),
    )
  })

/**
 * The cache holds a document S3 did not list: confirm with a HEAD (it may be newer than the listing), then delete it.
 * Only a HEAD that answers "no such object" confirms it: a HEAD that fails (throttled, unavailable, denied) fails
 * this step, and `compareRow` reports the entry `unreadable` and leaves it alone.
 */
export const resolveOrphan = (
  run: Run,
  now: number,
  f: DocumentCache.Fingerprint & { readonly s3Key: string; readonly version: number },
) =>
  Effect.gen(function* () {
    const head = yield* run.store.head(f.s3Key)
    if (Option.isSome(head)) return Option.none<Drift>()
    const expired = CacheEntry.isExpired(f.expiresAt, now)
    return Option.some(
      yield* repair(
        run,
        {
          type: expired ? "expired" : "orphaned",
          kind: f.kind,
          id: f.id,
          key: f.s3Key,
          detail: expired
            ? `cached version ${f.version} is expired and S3 has no object`
            : `cached version ${f.version} has no object in S3`,
        },
        run.cache.delete(f.kind, f.id, { condition: { _tag: "VersionIs", version: f.version } }),
      ),
    )
  })

/** The cache holds an entry past its retention that DynamoDB has not deleted yet: delete it. */
const resolveExpired = (
  run: Run,
  base: { readonly kind: string; readonly id: string; readonly key: string },
  f: DocumentCache.Fingerprint,
) =>
  Effect.map(
    repair(
      run,
      {
        ...base,
        type: "expired",
        detail: `cached version ${f.version} expired at ${new Date(f.expiresAt * 1000).toISOString()}`,
      },
      run.cache.delete(f.kind, f.id, { condition: { _tag: "VersionIs", version: f.version ?? 0 } }),
    ),
    Option.some,
  )

/** The object the cache points at: several keys can hold one document (`customers/{code}/...`). */
const objectOf = (row: Sort.Joined<Listed, Cached>, f: DocumentCache.Fingerprint | undefined): Listed =>
  row.left.find((l) => l.key === f?.s3Key) ?? (row.left[0] as Listed)

/**
 * One joined row that {@link isClean} did not take: the drift it shows (repaired with `fix`), or none.
 * A live cached row reaching the end has no cached ETag or one that differs from S3's: its bodies decide.
 */
export const compareRow = (
  run: Run,
  now: number,
  row: Sort.Joined<Listed, Cached>,
): Effect.Effect<Option.Option<Drift>> => {
  const f = row.right[0]?.f
  const [kind, ...rest] = row.key.split("/")
  // Stryker disable next-line StringLiteral: ids match [A-Za-z0-9-] after their prefix (S3Key.parse): one part, no "/" to join
  const id = rest.join("/")
  if (row.left.length === 0) {
    // A row S3 did not list always has its cache entry (a merge-join row has a side); a Cached
    // fingerprint always has its S3 key and version (a tombstone has neither: `fingerprintOf`).
    // Stryker disable next-line OptionalChaining: f is never undefined here
    return f?._tag === "Cached"
      ? resolveOrphan(run, now, { ...f, s3Key: f.s3Key as string, version: f.version as number }).pipe(
          Effect.catchAll((error) =>
            Effect.succeed(
              Option.some<Drift>({
                kind: f.kind,
                id: f.id,
                key: f.s3Key as string,
                type: "unreadable",
                detail: `S3 did not list it and the HEAD that would confirm the orphan failed (${message(error)}): left alone`,
              }),
            ),
          ),
        )
      : Effect.succeed(Option.none()) // a tombstone of a deleted object: as it should be
  }
  run.tally.documents++
  const object = objectOf(row, f)
  const base = { kind: kind as string, id, key: object.key }
  return Effect.gen(function* () {
    if (f === undefined || f._tag === "Tombstone")
      return yield* resolveMissing(run, object, base.kind, id, f !== undefined)
    if (CacheEntry.isExpired(f.expiresAt, now)) return yield* resolveExpired(run, base, f)
    run.tally.compared++
    return yield* resolveDiffering(run, object, f)
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

/** A row whose ETags agree on a live entry: clean, counted here without a fiber (the only ETag check of a row). */
export const isClean = (run: Run, now: number, row: Sort.Joined<Listed, Cached>): boolean => {
  const f = row.right[0]?.f
  if (row.left.length === 0 || f === undefined || f._tag !== "Cached") return false
  if (CacheEntry.isExpired(f.expiresAt, now)) return false
  const object = objectOf(row, f)
  // An entry without an ETag never agrees: S3's is always a string (`ObjectInfo.etag`).
  if (normaliseEtag(f.etag) !== normaliseEtag(object.etag)) return false
  run.tally.documents++
  run.tally.compared++
  return true
}

const recordDrift = (t: Tally, maxDrift: number, found: Option.Option<Drift>): void => {
  if (Option.isNone(found)) return
  const d = found.value
  t.driftFound++
  t.counts[d.type]++
  if (d.repair?.outcome === "fixed") t.fixed++
  if (d.repair?.outcome === "failed") t.fixFailed++
  if (t.kept.length < maxDrift) t.kept.push(d)
}

/** Walks both sorted sides together, comparing the rows that are not clean `concurrency` at a time. */
export const mergeJoin = (
  run: Run,
  now: number,
  left: Sort.Sorted<Listed>,
  right: Sort.Sorted<Cached>,
): Effect.Effect<void, ReconcileError> =>
  Sort.joinStream(
    left,
    right,
    (l) => l.k,
    (r) => r.k,
    sortError,
  ).pipe(
    Stream.rechunk(512),
    Stream.mapChunksEffect((rows) => {
      Chunk.forEach(rows, (row) => {
        run.tally.joined += row.left.length + row.right.length
      })
      return tick(run)(Chunk.filter(rows, (row) => !isClean(run, now, row)))
    }),
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: speed only (the drift is sorted at the end)
    Stream.mapEffect((row) => compareRow(run, now, row), { concurrency: run.concurrency, unordered: true }),
    Stream.runForEach((found) => Effect.sync(() => recordDrift(run.tally, run.maxDrift, found))),
  )

/** Document keys in code-unit order. */
const byKey = (a: string, b: string): number => {
  if (a < b) return -1
  // Stryker disable next-line ConditionalExpression,EqualityOperator: no two drifts share a type and a key (one drift per document row), and V8's sort only asks `< 0`: 1 or 0 here orders alike
  return a > b ? 1 : 0
}

/** The drift kept, by type then key. */
export const sortedDrift = (kept: Array<Drift>): Array<Drift> =>
  kept.sort((a, b) => driftTypes.indexOf(a.type) - driftTypes.indexOf(b.type) || byKey(a.key, b.key))
