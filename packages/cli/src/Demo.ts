/**
 * `docket demo`: the main job on a private embedded stack, no setup. Generates
 * a corpus, writes it through, runs each query kind, shows a fallback read
 * after a cache miss, changes an object behind Docket's back and shows event
 * sync repairing the cache, runs reconcile on injected drift, and prints a
 * report with counts, latencies and the hit rate.
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

/** Runs the demo. */
export const run = (o: { readonly documents: number; readonly customers: number }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const globals = yield* GlobalOptions.root
      const t0 = performance.now()
      yield* Output.note("starting a private local stack (DynamoDB Local + S3 emulator)...")
      const stack = yield* LocalStack.acquire()
      const table = "docket-demo"
      const bucket = "docket-demo"
      yield* Effect.promise(() => Promise.all([stack.createTable(table), stack.createBucket(bucket)]))
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
      const body = Effect.gen(function* () {
        const writer = yield* WriteThrough.WriteThrough
        const reader = yield* FallbackReader.FallbackReader
        const cache = yield* DocumentCache.DocumentCache

        // 1. Corpus, written through.
        const customers = DemoCorpus.customerCodes(Math.max(1, o.customers))
        const now = Date.now()
        const corpus = DemoCorpus.generate(Math.max(10, o.documents), customers, now)
        const changes = corpus.filter((d) => d.kind === "change").length
        yield* say(
          `1. write-through: ${corpus.length} documents (${changes} changes, ${corpus.length - changes} announcements) over ${customers.length} customers`,
        )
        const writeLatencies: Array<number> = []
        const writeWaits: Array<number> = []
        // The one progress renderer: a bar on a terminal, JSON lines on stderr otherwise.
        const progress = yield* Progress.make({ label: "write", total: corpus.length, format: globals.format })
        const tw = performance.now()
        const outcomes = yield* Effect.forEach(
          corpus,
          (document) =>
            timed(RateLimit.measureWait(writer.write(document))).pipe(
              Effect.map(([[result, waited], ms]) => {
                // Service latency is the write's time less its wait for the rate limiter.
                writeLatencies.push(Math.max(0, ms - waited))
                writeWaits.push(waited)
                return result._tag
              }),
              Effect.catchAll(() => Effect.succeed("Failed")),
              Effect.tap((tag) => progress.advance(1, { [tag.toLowerCase()]: 1 })),
            ),
          { concurrency: 32 },
        ).pipe(Effect.ensuring(progress.finish))
        const writeMs = performance.now() - tw
        const written = outcomes.filter((t) => t === "Written").length
        yield* say(
          `   ${written} written, ${outcomes.length - written} not, in ${Output.ms(writeMs)} (${Math.round((corpus.length * 1000) / writeMs)} docs/s); service latency ${lat(writeLatencies)}, rate-limit wait ${lat(writeWaits)}\n`,
        )

        // From here on, S3 notifications run through event sync in-process, as a deployed Lambda would.
        const consumer = yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))

        // 2. Queries.
        yield* say("2. queries (each run 20 times)")
        const day = 86_400_000
        const iso = (ms: number) => new Date(ms).toISOString()
        const customer = customers[0] ?? "acme"
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
        const queryLatencies: Array<number> = []
        for (const [label, query] of queries) {
          const samples: Array<number> = []
          let first: DocumentCache.Page | undefined
          for (let i = 0; i < 20; i++) {
            const [page, ms] = yield* timed(cache.page(query, { limit: 100 }))
            samples.push(ms)
            first ??= page
          }
          queryLatencies.push(...samples)
          const items = first?.items ?? []
          yield* say(
            `   ${label}: ${items.length}${Option.isSome(first?.cursor ?? Option.none()) ? "+ (more pages)" : ""} documents, ${lat(samples)}`,
          )
          for (const s of items.slice(0, 3)) {
            yield* say(
              `     ${s.time.slice(0, 16)}  ${s.id}  ${s.status.padEnd(11)} ${s.customers.join(",")}  ${s.title}`,
            )
          }
        }

        // 3. Fallback read after a cache miss.
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

        // 4. Hit rate over random reads.
        let hits = 0
        const readLatencies: Array<number> = []
        const reads = 300
        yield* Effect.forEach(
          Array.from({ length: reads }, (_, i) => corpus[(i * 7919) % corpus.length] as Document.AnyDocument),
          (d) =>
            timed(reader.read(d.kind, d.id)).pipe(
              Effect.tap(([r, ms]) =>
                Effect.sync(() => {
                  readLatencies.push(ms)
                  if (Option.isSome(r) && r.value.source === "cache") hits += 1
                }),
              ),
              Effect.ignore,
            ),
          { concurrency: 8 },
        )
        yield* say(`\n4. ${reads} random reads: hit rate ${((hits * 100) / reads).toFixed(1)}%, ${lat(readLatencies)}`)

        // 5. Behind Docket's back: a raw S3 PutObject, repaired by event sync.
        const changed = corpus.find((d) => d.kind === "change") as Document.AnyDocument
        const edited = {
          ...changed,
          version: changed.version + 1,
          title: `${String(changed.title)} (edited behind Docket's back)`,
        }
        const s3 = new S3Client({ ...stack.clientConfig.s3 })
        yield* say(
          `\n5. event sync: raw S3 PutObject of ${changed.kind}/${changed.id} v${edited.version}, bypassing Docket`,
        )
        const tEvent = performance.now()
        yield* Effect.promise(() =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `changes/${changed.id}.json`,
              Body: JSON.stringify(edited),
              ContentType: "application/json",
            }),
          ),
        )
        s3.destroy()
        yield* Effect.sleep("20 millis")
        yield* consumer.idle
        const after = yield* cache.get(changed.kind, changed.id)
        const repairedVersion = Option.match(after, {
          onNone: () => "no entry",
          onSome: (e) => (e._tag === "Cached" ? `v${e.summary.version} "${e.summary.title}"` : e._tag),
        })
        yield* say(
          `   cache now holds ${repairedVersion} (${(performance.now() - tEvent).toFixed(0)} ms after the put)`,
        )

        // 6. Reconcile on injected drift.
        const victim = corpus[corpus.length - 1] as Document.AnyDocument
        const orphan = { ...(corpus[0] as Document.AnyDocument), id: `${String(corpus[0]?.id)}-ORPHAN` }
        yield* say(`\n6. reconcile: drop ${victim.kind}/${victim.id} from the cache and add an orphan ${orphan.id}`)
        yield* cache.delete(victim.kind, victim.id)
        yield* cache.put(orphan, { s3Key: `changes/${orphan.id}.json` })
        const report = yield* Reconcile.run({ fix: true, concurrency: 32 })
        const fixed = report
        yield* say(
          `   reconcile --fix over ${report.documents} documents in ${Output.ms(report.durationMs)}: ${Reconcile.driftTypes.map((t) => `${t} ${report.counts[t]}`).join(", ")}`,
        )
        for (const d of report.drift) {
          yield* say(`     ${d.type} ${d.kind}/${d.id}: ${d.detail} -> ${d.repair?.outcome ?? "not repaired"}`)
        }
        // Check the two keys directly rather than with a second full pass.
        const victimBack = Option.isSome(yield* cache.get(victim.kind, victim.id))
        const orphanGone = Option.isNone(yield* cache.get(orphan.kind, orphan.id, { includeExpired: true }))
        const again = { drift: [victimBack, orphanGone].filter((ok) => !ok) }
        yield* say(
          `   afterwards: ${victim.id} ${victimBack ? "is back in the cache" : "is STILL MISSING"}, the orphan ${orphanGone ? "is gone" : "is STILL THERE"}`,
        )

        const total = performance.now() - t0
        yield* say("\nreport")
        yield* say(
          Output.table(
            ["WHAT", "VALUE"],
            [
              ["documents", `${corpus.length} (${changes} changes, ${corpus.length - changes} announcements)`],
              ["customers", String(customers.length)],
              [
                "write-through",
                `${Math.round((corpus.length * 1000) / writeMs)} docs/s, service ${lat(writeLatencies)}`,
              ],
              ["rate-limit wait", `${lat(writeWaits)} per write (DOCKET_RPS ${settings.rps})`],
              ["queries", lat(queryLatencies)],
              ["reads", `${lat(readLatencies)}, hit rate ${((hits * 100) / reads).toFixed(1)}%`],
              ["event sync", repairedVersion],
              ["reconcile", `${report.drift.length} drift found, ${fixed.fixed} fixed, ${again.drift.length} left`],
              ["total time", Output.ms(total)],
            ],
          ),
        )
      })
      yield* body.pipe(
        Effect.scoped,
        Effect.provide(Services.layer),
        Effect.provideService(Environment.Environment, environment),
      )
    }),
  )
