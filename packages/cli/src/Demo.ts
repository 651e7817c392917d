/**
 * `docket demo`: the main job on a private embedded stack, no setup. Generates
 * a corpus, writes it through, runs each query kind, shows a fallback read
 * after a cache miss, changes an object behind Docket's back and shows event
 * sync repairing the cache, runs reconcile on injected drift, and prints a
 * report with counts, latencies and the hit rate.
 *
 * `run` starts the stack (`startStack`) and runs one named step per section
 * (`writeCorpus`, `runQueries`, `showFallback`, `measureHitRate`,
 * `showEventSync`, `showReconcile`), each returning its figures to `printReport`.
 *
 * @since 0.1.0
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as RateLimit from "@docket/core/RateLimit"
import * as Reconcile from "@docket/core/Reconcile"
import * as S3EventSync from "@docket/core/S3EventSync"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as LocalStack from "@docket/local/LocalStack"
import * as Notifications from "@docket/local/Notifications"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { CliError } from "./CliError.js"
import * as DemoCorpus from "./DemoCorpus.js"
import * as Environment from "./Environment.js"
import * as GlobalOptions from "./GlobalOptions.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Services from "./Services.js"

const percentile = (samples: ReadonlyArray<number>, p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
}
const lat = (samples: ReadonlyArray<number>) =>
  `p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${percentile(samples, 99).toFixed(1)} ms`

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    const a = yield* effect
    return [a, performance.now() - start] as const
  })

const say = (text: string) => Output.line(text)

const table = "docket-demo"
const bucket = "docket-demo"
const day = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

/** What every step reads: the services, the stack and the corpus. */
interface Demo {
  readonly writer: WriteThrough.Service
  readonly reader: FallbackReader.Service
  readonly cache: DocumentCache.Service
  readonly stack: LocalStack.Stack
  readonly settings: DocketConfig.Settings
  readonly corpus: ReadonlyArray<Document.AnyDocument>
  readonly customers: ReadonlyArray<string>
  readonly now: number
  readonly changes: number
}

/** Starts a private stack with the demo's table and bucket; the settings and environment that point Docket at it. */
const startStack = Effect.gen(function* () {
  const globals = yield* GlobalOptions.root
  const t0 = performance.now()
  yield* Output.note("starting a private local stack (DynamoDB Local + S3 emulator)...")
  const stack = yield* LocalStack.acquire()
  yield* Effect.tryPromise({
    try: () => Promise.all([stack.createTable(table), stack.createBucket(bucket)]),
    catch: (cause) =>
      new CliError({ reason: "Failure", message: `Creating the table or bucket failed: ${String(cause)}`, cause }),
  })
  const stackMs = performance.now() - t0
  const settings = DocketConfig.make({
    table,
    bucket,
    region: stack.region,
    dynamodbEndpoint: Option.some(stack.dynamodbEndpoint),
    s3Endpoint: Option.some(stack.s3Endpoint),
    rps: Option.getOrElse(globals.rps, () => 5000),
    burst: Option.getOrElse(globals.rps, () => 5000),
    logLevel: LogLevel.Warning,
  })
  // The stack's variables and credentials reach Docket's clients through the Environment layer.
  const environment = Environment.make(
    globals,
    { ...Environment.processEnvironment(), ...stack.environment({ table, bucket }) },
    settings,
  )
  yield* say(`Docket demo: stack up in ${Output.ms(stackMs)} (table ${table}, bucket ${bucket})\n`)
  return { stack, settings, environment, t0 }
})

/** 1. The corpus, written through 32 at a time: the write rate, service latency and rate-limit wait. */
const writeCorpus = (demo: Demo) =>
  Effect.gen(function* () {
    const { corpus, changes } = demo
    yield* say(
      `1. write-through: ${corpus.length} documents (${changes} changes, ${corpus.length - changes} announcements) over ${demo.customers.length} customers`,
    )
    const latencies: Array<number> = []
    const waits: Array<number> = []
    // The one progress renderer: a bar on a terminal, JSON lines on stderr otherwise.
    const globals = yield* GlobalOptions.root
    const progress = yield* Progress.make({ label: "write", total: corpus.length, format: globals.format })
    const tw = performance.now()
    const outcomes = yield* Effect.forEach(
      corpus,
      (document) =>
        timed(RateLimit.measureWait(demo.writer.write(document))).pipe(
          Effect.map(([[result, waited], ms]) => {
            // Service latency is the write's time less its wait for the rate limiter.
            latencies.push(Math.max(0, ms - waited))
            waits.push(waited)
            return result._tag
          }),
          Effect.catchAll(() => Effect.succeed("Failed")),
          Effect.tap((tag) => progress.advance(1, { [tag.toLowerCase()]: 1 })),
        ),
      { concurrency: 32 },
    ).pipe(Effect.ensuring(progress.finish))
    const ms = performance.now() - tw
    const written = outcomes.filter((t) => t === "Written").length
    yield* say(
      `   ${written} written, ${outcomes.length - written} not, in ${Output.ms(ms)} (${Math.round((corpus.length * 1000) / ms)} docs/s); service latency ${lat(latencies)}, rate-limit wait ${lat(waits)}\n`,
    )
    return { ms, latencies, waits }
  })

/** 2. One query of each kind (time, customer, status), each run 20 times: the first page and the latencies. */
const runQueries = (demo: Demo) =>
  Effect.gen(function* () {
    yield* say("2. queries (each run 20 times)")
    const { now } = demo
    const customer = demo.customers[0] ?? "acme"
    const queries: ReadonlyArray<[string, DocumentCache.Query]> = [
      ["time: next 30 days", { target: { _tag: "Time" }, from: iso(now), to: iso(now + 30 * day) }],
      [
        `customer ${customer}: last 60 days to next 120`,
        { target: { _tag: "Customer", customer }, from: iso(now - 60 * day), to: iso(now + 120 * day) },
      ],
      [
        "status approved (changes): all",
        {
          target: { _tag: "Status", status: "approved" },
          kind: "change",
          from: iso(now - 60 * day),
          to: iso(now + 120 * day),
        },
      ],
    ]
    const latencies: Array<number> = []
    for (const [label, query] of queries) {
      const samples: Array<number> = []
      let first: DocumentCache.Page | undefined
      for (let i = 0; i < 20; i++) {
        const [page, ms] = yield* timed(demo.cache.page(query, { limit: 100 }))
        samples.push(ms)
        first ??= page
      }
      latencies.push(...samples)
      const items = first?.items ?? []
      yield* say(
        `   ${label}: ${items.length}${Option.isSome(first?.cursor ?? Option.none()) ? "+ (more pages)" : ""} documents, ${lat(samples)}`,
      )
      for (const s of items.slice(0, 3)) {
        yield* say(`     ${s.time.slice(0, 16)}  ${s.id}  ${s.status.padEnd(11)} ${s.customers.join(",")}  ${s.title}`)
      }
    }
    return latencies
  })

/** 3. A fallback read after a cache miss: evict one document, read it from S3, then from the refilled cache. */
const showFallback = (demo: Demo) =>
  Effect.gen(function* () {
    const { cache, reader, corpus } = demo
    const target = corpus[Math.floor(corpus.length / 2)] as Document.AnyDocument
    yield* say(`\n3. fallback read: evict ${target.kind}/${target.id} from the cache, then read it`)
    yield* cache.delete(target.kind, target.id)
    const [miss, missMs] = yield* timed(reader.read(target.kind, target.id))
    yield* reader.awaitRefills
    const [hit, hitMs] = yield* timed(reader.read(target.kind, target.id))
    yield* say(
      `   first read: from ${Option.match(miss, { onNone: () => "nowhere", onSome: (r) => (r.source === "store" ? "S3 (miss, cache refilled in the background)" : "cache") })} in ${missMs.toFixed(1)} ms`,
    )
    yield* say(
      `   second read: from ${Option.match(hit, { onNone: () => "nowhere", onSome: (r) => (r.source === "cache" ? "the cache (hit)" : "S3") })} in ${hitMs.toFixed(1)} ms`,
    )
  })

/** 4. The hit rate over 300 reads spread across the corpus, 8 at a time. */
const measureHitRate = (demo: Demo) =>
  Effect.gen(function* () {
    const { corpus } = demo
    let hits = 0
    const latencies: Array<number> = []
    const reads = 300
    yield* Effect.forEach(
      Array.from({ length: reads }, (_, i) => corpus[(i * 7919) % corpus.length] as Document.AnyDocument),
      (d) =>
        timed(demo.reader.read(d.kind, d.id)).pipe(
          Effect.tap(([r, ms]) =>
            Effect.sync(() => {
              latencies.push(ms)
              if (Option.isSome(r) && r.value.source === "cache") hits += 1
            }),
          ),
          Effect.ignore,
        ),
      { concurrency: 8 },
    )
    const hitRate = ((hits * 100) / reads).toFixed(1)
    yield* say(`\n4. ${reads} random reads: hit rate ${hitRate}%, ${lat(latencies)}`)
    return { latencies, hitRate }
  })

/** 5. Behind Docket's back: a raw S3 PutObject, repaired by event sync; what the cache then holds. */
const showEventSync = (demo: Demo, consumer: { readonly idle: Effect.Effect<void> }) =>
  Effect.gen(function* () {
    const changed = demo.corpus.find((d) => d.kind === "change") as Document.AnyDocument
    const edited = {
      ...changed,
      version: changed.version + 1,
      title: `${String(changed.title)} (edited behind Docket's back)`,
    }
    const s3 = new S3Client({ ...demo.stack.clientConfig.s3 })
    yield* say(
      `\n5. event sync: raw S3 PutObject of ${changed.kind}/${changed.id} v${edited.version}, bypassing Docket`,
    )
    const tEvent = performance.now()
    yield* Effect.tryPromise({
      try: () =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `changes/${changed.id}.json`,
            Body: JSON.stringify(edited),
            ContentType: "application/json",
          }),
        ),
      catch: (cause) =>
        new CliError({ reason: "Failure", message: `The raw S3 PutObject failed: ${String(cause)}`, cause }),
    }).pipe(Effect.ensuring(Effect.sync(() => s3.destroy())))
    yield* Effect.sleep("20 millis")
    yield* consumer.idle
    const after = yield* demo.cache.get(changed.kind, changed.id)
    const repairedVersion = Option.match(after, {
      onNone: () => "no entry",
      onSome: (e) => (e._tag === "Cached" ? `v${e.summary.version} "${e.summary.title}"` : e._tag),
    })
    yield* say(`   cache now holds ${repairedVersion} (${(performance.now() - tEvent).toFixed(0)} ms after the put)`)
    return repairedVersion
  })

/** 6. Reconcile --fix on injected drift (a dropped entry, an orphan); the two keys checked directly afterwards. */
const showReconcile = (demo: Demo) =>
  Effect.gen(function* () {
    const { cache, corpus } = demo
    const victim = corpus[corpus.length - 1] as Document.AnyDocument
    const orphan = { ...(corpus[0] as Document.AnyDocument), id: `${String(corpus[0]?.id)}-ORPHAN` }
    yield* say(`\n6. reconcile: drop ${victim.kind}/${victim.id} from the cache and add an orphan ${orphan.id}`)
    yield* cache.delete(victim.kind, victim.id)
    yield* cache.put(orphan, { s3Key: `changes/${orphan.id}.json` })
    const report = yield* Reconcile.run({ fix: true, concurrency: 32 })
    yield* say(
      `   reconcile --fix over ${report.documents} documents in ${Output.ms(report.durationMs)}: ${Reconcile.driftTypes.map((t) => `${t} ${report.counts[t]}`).join(", ")}`,
    )
    for (const d of report.drift) {
      yield* say(`     ${d.type} ${d.kind}/${d.id}: ${d.detail} -> ${d.repair?.outcome ?? "not repaired"}`)
    }
    // Check the two keys directly rather than with a second full pass.
    const victimBack = Option.isSome(yield* cache.get(victim.kind, victim.id))
    const orphanGone = Option.isNone(yield* cache.get(orphan.kind, orphan.id, { includeExpired: true }))
    const left = [victimBack, orphanGone].filter((ok) => !ok).length
    yield* say(
      `   afterwards: ${victim.id} ${victimBack ? "is back in the cache" : "is STILL MISSING"}, the orphan ${orphanGone ? "is gone" : "is STILL THERE"}`,
    )
    return { report, left }
  })

/** The closing table of figures. */
const printReport = (
  demo: Demo,
  figures: {
    readonly writes: Effect.Effect.Success<ReturnType<typeof writeCorpus>>
    readonly queryLatencies: ReadonlyArray<number>
    readonly reads: Effect.Effect.Success<ReturnType<typeof measureHitRate>>
    readonly repairedVersion: string
    readonly reconcile: Effect.Effect.Success<ReturnType<typeof showReconcile>>
    readonly totalMs: number
  },
) => {
  const { corpus, changes } = demo
  const { writes, reads, reconcile } = figures
  return Effect.zipRight(
    say("\nreport"),
    say(
      Output.table(
        ["WHAT", "VALUE"],
        [
          ["documents", `${corpus.length} (${changes} changes, ${corpus.length - changes} announcements)`],
          ["customers", String(demo.customers.length)],
          [
            "write-through",
            `${Math.round((corpus.length * 1000) / writes.ms)} docs/s, service ${lat(writes.latencies)}`,
          ],
          ["rate-limit wait", `${lat(writes.waits)} per write (DOCKET_RPS ${demo.settings.rps})`],
          ["queries", lat(figures.queryLatencies)],
          ["reads", `${lat(reads.latencies)}, hit rate ${reads.hitRate}%`],
          ["event sync", figures.repairedVersion],
          [
            "reconcile",
            `${reconcile.report.drift.length} drift found, ${reconcile.report.fixed} fixed, ${reconcile.left} left`,
          ],
          ["total time", Output.ms(figures.totalMs)],
        ],
      ),
    ),
  )
}

/** The six sections over Docket's services on the stack. */
const sections = (
  o: { readonly documents: number; readonly customers: number },
  stack: LocalStack.Stack,
  settings: DocketConfig.Settings,
  t0: number,
) =>
  Effect.gen(function* () {
    const customers = DemoCorpus.customerCodes(Math.max(1, o.customers))
    const now = Date.now()
    const corpus = DemoCorpus.generate(Math.max(10, o.documents), customers, now)
    const demo: Demo = {
      writer: yield* WriteThrough.WriteThrough,
      reader: yield* FallbackReader.FallbackReader,
      cache: yield* DocumentCache.DocumentCache,
      stack,
      settings,
      corpus,
      customers,
      now,
      changes: corpus.filter((d) => d.kind === "change").length,
    }
    const writes = yield* writeCorpus(demo)
    // From here on, S3 notifications run through event sync in-process, as a deployed Lambda would.
    const consumer = yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
    const queryLatencies = yield* runQueries(demo)
    yield* showFallback(demo)
    const reads = yield* measureHitRate(demo)
    const repairedVersion = yield* showEventSync(demo, consumer)
    const reconcile = yield* showReconcile(demo)
    const totalMs = performance.now() - t0
    yield* printReport(demo, { writes, queryLatencies, reads, repairedVersion, reconcile, totalMs })
  })

/** Runs the demo. */
export const run = (o: { readonly documents: number; readonly customers: number }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { stack, settings, environment, t0 } = yield* startStack
      yield* sections(o, stack, settings, t0).pipe(
        Effect.scoped,
        Effect.provide(Services.layer),
        Effect.provideService(Environment.Environment, environment),
      )
    }),
  )
