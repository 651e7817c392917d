import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricKeyType from "effect/MetricKeyType"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as CacheMetrics from "../src/CacheMetrics.js"
import * as MetricsExport from "../src/MetricsExport.js"

const table = "docket-metrics-test"

/** Runs `self` with `Console.log` captured; returns what it logged, line by line. */
const capturing = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const original = yield* Effect.console
    const console = {
      ...original,
      log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => lines.push(args.join(" "))),
    }
    const value = yield* Effect.withConsole(self, console)
    return { value, lines }
  })

/**
 * The structural rules of the EMF specification that CloudWatch Logs enforces
 * (Specification: Embedded metric format): returns every violation found.
 */
const emfProblems = (line: string): Array<string> => {
  const problems: Array<string> = []
  const doc = JSON.parse(line) as Record<string, unknown>
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined
  if (typeof aws !== "object" || aws === null) return ["no _aws member"]
  if (typeof aws.Timestamp !== "number" || !Number.isInteger(aws.Timestamp) || aws.Timestamp < 0) {
    problems.push("Timestamp is not epoch milliseconds")
  }
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return [...problems, "no directives"]
  for (const directive of aws.CloudWatchMetrics as Array<Record<string, unknown>>) {
    if (typeof directive.Namespace !== "string" || directive.Namespace.length === 0) problems.push("bad Namespace")
    const dims = directive.Dimensions as Array<Array<unknown>>
    if (!Array.isArray(dims)) problems.push("Dimensions is not an array")
    for (const set of dims ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push("dimension set is not an array of at most 30")
      for (const name of set) {
        if (typeof doc[name as string] !== "string") problems.push(`dimension ${String(name)} has no string value`)
      }
    }
    const metrics = directive.Metrics as Array<{ Name?: unknown; Unit?: unknown }>
    if (!Array.isArray(metrics) || metrics.length > 100) problems.push("Metrics is not an array of at most 100")
    const units = new Set(["Count", "Milliseconds"])
    for (const metric of metrics ?? []) {
      if (typeof metric.Name !== "string") problems.push("metric without Name")
      if (!units.has(metric.Unit as string)) problems.push(`bad Unit ${String(metric.Unit)}`)
      const value = doc[metric.Name as string] as unknown
      if (typeof value === "number") continue
      const dist = value as {
        Values?: unknown
        Counts?: unknown
        Max?: unknown
        Min?: unknown
        Count?: unknown
        Sum?: unknown
      }
      if (
        !Array.isArray(dist?.Values) ||
        !Array.isArray(dist.Counts) ||
        dist.Values.length !== dist.Counts.length ||
        dist.Values.length === 0 ||
        dist.Values.length > 100 ||
        ![...dist.Values, ...dist.Counts].every((n) => typeof n === "number" && Number.isFinite(n))
      ) {
        problems.push(`metric ${String(metric.Name)} has no valid value`)
        continue
      }
      // The statistic set must be the one the values and counts imply.
      const values = dist.Values as Array<number>
      const counts = dist.Counts as Array<number>
      const close = (a: unknown, b: number) =>
        typeof a === "number" && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b))
      if (
        !close(dist.Max, Math.max(...values)) ||
        !close(dist.Min, Math.min(...values)) ||
        !close(
          dist.Count,
          counts.reduce((a, b) => a + b, 0),
        ) ||
        !close(
          dist.Sum,
          values.reduce((sum, v, i) => sum + v * counts[i]!, 0),
        )
      ) {
        problems.push(`metric ${String(metric.Name)} has an inconsistent statistic set`)
      }
    }
    const names = (metrics ?? []).map((m) => m.Name)
    if (new Set(names).size !== names.length) problems.push("a metric appears twice in one directive")
  }
  return problems
}

/** Every metric `CacheMetrics` exports. */
const allMetrics = Object.entries(CacheMetrics).filter(
  ([, value]) => (typeof value === "object" || typeof value === "function") && value !== null && "keyType" in value,
) as unknown as Array<[string, Metric.Metric<MetricKeyType.MetricKeyType<number, unknown>, number, unknown>]>

/** Sum of a counter in the base dimension set over EMF lines. */
const emfCount = (lines: ReadonlyArray<string>, name: string): number =>
  lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((doc) => {
      const dims = (doc._aws as { CloudWatchMetrics: Array<{ Dimensions: Array<Array<string>> }> })
        .CloudWatchMetrics[0]!.Dimensions[0]!
      return dims.length === 2 && typeof doc[name] === "number"
    })
    .reduce((sum, doc) => sum + (doc[name] as number), 0)

/** Nearest-rank percentile of a values/counts distribution. */
const percentile = (values: ReadonlyArray<number>, counts: ReadonlyArray<number>, p: number): number => {
  const total = counts.reduce((a, b) => a + b, 0)
  const rank = Math.ceil(p * total)
  let seen = 0
  for (let i = 0; i < values.length; i++) {
    seen += counts[i]!
    if (seen >= rank) return values[i]!
  }
  return values[values.length - 1]!
}

describe("MetricsExport", () => {
  it.effect("the catalog lists exactly the metrics CacheMetrics defines, with their types", () =>
    Effect.gen(function* () {
      // Record each exported metric once under a probe tag naming its export.
      for (const [exportName, metric] of allMetrics) {
        const probe = metric.pipe(Metric.tagged("probe", exportName))
        yield* Metric.update(probe, 1) // a counter adds it, a histogram records it
      }
      const pairs = yield* Metric.snapshot
      const probes = pairs.filter((p) => p.metricKey.tags.some((t) => t.key === "probe"))
      expect(allMetrics.length).toBeGreaterThanOrEqual(14)
      expect(probes).toHaveLength(allMetrics.length)
      const names = new Set(probes.map((p) => p.metricKey.name))
      const byName = new Map(probes.map((pair) => [pair.metricKey.name, pair.metricKey.keyType]))
      expect([...names].sort()).toStrictEqual(MetricsExport.catalog.map((entry) => entry.name).sort())
      for (const entry of MetricsExport.catalog) {
        const keyType = byName.get(entry.name)
        expect(entry.type === "histogram").toBe(MetricKeyType.isHistogramKey(keyType))
        expect(entry.unit).toBe(entry.type === "histogram" ? "Milliseconds" : "Count")
      }
      expect(MetricsExport.namespace).toBe("Docket")
    }),
  )

  it.effect("flushEmf writes valid EMF documents: namespace, dimensions, units, tag dimensions", () =>
    Effect.gen(function* () {
      const exporter = yield* MetricsExport.make({ table })
      const flush = MetricsExport.flushEmf.pipe(Effect.provideService(MetricsExport.MetricsExport, exporter))
      yield* flush // drain whatever earlier tests recorded
      yield* Metric.incrementBy(CacheMetrics.cacheHits, 3)
      yield* Metric.increment(CacheMetrics.cacheMisses)
      yield* Metric.incrementBy(CacheMetrics.writes.pipe(Metric.tagged("outcome", "written")), 2)
      // A tag that is not a catalog dimension (high cardinality) is aggregated away.
      yield* Metric.increment(
        Metric.tagged(Metric.tagged(CacheMetrics.writes, "outcome", "failed"), "key", "change/CHG-1"),
      )
      yield* Metric.update(CacheMetrics.queryLatency.pipe(Metric.tagged("index", "TimeRangeIndex")), 12)
      yield* Metric.update(CacheMetrics.queryLatency.pipe(Metric.tagged("index", "StatusTimeIndex")), 700)
      const { value: written, lines } = yield* capturing(flush)
      expect(written).toBe(lines.length)
      for (const line of lines) expect(emfProblems(line)).toStrictEqual([])
      const docs = lines.map((line) => JSON.parse(line) as Record<string, any>)
      for (const doc of docs) {
        const [directive] = doc._aws.CloudWatchMetrics
        expect(directive.Namespace).toBe("Docket")
        expect(directive.Dimensions[0].slice(0, 2)).toStrictEqual(["Service", "Table"])
        expect(doc.Service).toBe("docket")
        expect(doc.Table).toBe(table)
        expect(doc.key).toBeUndefined()
      }
      const base = docs.find((doc) => doc._aws.CloudWatchMetrics[0].Dimensions[0].length === 2)!
      expect(base.CacheHits).toBe(3)
      expect(base.CacheMisses).toBe(1)
      expect(base.WriteOutcomes).toBe(3)
      expect(base.QueryLatency.Counts.reduce((a: number, b: number) => a + b, 0)).toBe(2)
      const units = Object.fromEntries(
        base._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string; Unit: string }) => [m.Name, m.Unit]),
      )
      expect(units).toMatchObject({ CacheHits: "Count", QueryLatency: "Milliseconds" })
      const byOutcome = docs.filter((doc) => doc.outcome !== undefined)
      expect(Object.fromEntries(byOutcome.map((doc) => [doc.outcome, doc.WriteOutcomes]))).toStrictEqual({
        written: 2,
        failed: 1,
      })
      for (const doc of byOutcome) {
        expect(doc._aws.CloudWatchMetrics[0].Dimensions).toStrictEqual([["Service", "Table", "outcome"]])
      }
      const byIndex = docs.filter((doc) => doc.index !== undefined)
      expect(byIndex.map((doc) => doc.index).sort()).toStrictEqual(["StatusTimeIndex", "TimeRangeIndex"])
      // Nothing new: nothing written.
      expect((yield* capturing(flush)).lines).toStrictEqual([])
    }),
  )

  it.effect.prop(
    "counters are deltas: over any interleaving of increments and flushes, each is published exactly once",
    [fc.array(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant("flush" as const)), { maxLength: 40 })],
    ([ops]) =>
      Effect.gen(function* () {
        const exporter = yield* MetricsExport.make({ table })
        const flush = capturing(
          MetricsExport.flushEmf.pipe(Effect.provideService(MetricsExport.MetricsExport, exporter)),
        )
        yield* flush
        let pending = 0
        let published = 0
        for (const op of [...ops, "flush" as const]) {
          if (op === "flush") {
            const { lines } = yield* flush
            const count = emfCount(lines, "CacheMisses")
            expect(count).toBe(pending)
            published += count
            pending = 0
          } else {
            yield* Metric.incrementBy(CacheMetrics.cacheMisses, op)
            pending += op
          }
        }
        expect(published).toBe(ops.reduce<number>((sum, op) => sum + (op === "flush" ? 0 : op), 0))
      }),
    { fastCheck: { numRuns: 60 } },
  )

  it.effect.prop(
    "the exported QueryLatency p99 falls in the bucket of the true p99, and on the same side of 500 ms",
    [fc.array(fc.double({ min: 0.1, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 })],
    ([latencies]) =>
      Effect.gen(function* () {
        const run = randomUUID()
        const metric = CacheMetrics.queryLatency.pipe(Metric.tagged("run", run))
        for (const ms of latencies) yield* Metric.update(metric, ms)
        const pairs = (yield* Metric.snapshot).filter((p) => p.metricKey.tags.some((t) => t.value === run))
        const { data } = MetricsExport.collect(pairs, MetricsExport.emptyTotals, { table })
        expect(data).toHaveLength(1)
        const [datum] = data
        if (datum?.value._tag !== "Distribution") throw new Error("expected a distribution")
        expect(datum.value.counts.reduce((a, b) => a + b, 0)).toBe(latencies.length)
        const sorted = [...latencies].sort((a, b) => a - b)
        const truth = sorted[Math.ceil(0.99 * sorted.length) - 1]!
        const exported = percentile(datum.value.values, datum.value.counts, 0.99)
        expect(exported > 500).toBe(truth > 500)
        // Same bucket: the exported value lies in the bucket (lower, upper] of the true p99.
        const keyType = pairs[0]!.metricKey.keyType as MetricKeyType.MetricKeyType.Histogram
        const bounds = keyType.boundaries.values
        const bucket = (v: number) => bounds.findIndex((b) => v <= b)
        expect(bucket(exported)).toBe(bucket(truth))
      }),
    { fastCheck: { numRuns: 40 } },
  )

  it.effect("layerPeriodic flushes every interval and once more when its scope closes", () =>
    Effect.gen(function* () {
      const exporter = yield* MetricsExport.make({ table })
      yield* exporter.flush(() => Effect.void) // drain
      const lines: Array<string> = []
      const original = yield* Effect.console
      const console = {
        ...original,
        log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => lines.push(args.join(" "))),
      }
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        MetricsExport.layerPeriodic(MetricsExport.flushEmf, "1 minute").pipe(
          Layer.provide(Layer.succeed(MetricsExport.MetricsExport, exporter)),
        ),
        scope,
      ).pipe(Effect.withConsole(console))
      yield* Metric.incrementBy(CacheMetrics.eventsStale, 2)
      yield* TestClock.adjust("59 seconds")
      expect(emfCount(lines, "EventsStale")).toBe(0)
      yield* TestClock.adjust("1 second")
      expect(emfCount(lines, "EventsStale")).toBe(2)
      yield* Metric.incrementBy(CacheMetrics.eventsStale, 5)
      yield* Scope.close(scope, Exit.void)
      expect(emfCount(lines, "EventsStale")).toBe(7)
    }),
  )

  it.prop(
    "renderEmf keeps every line within the EMF limits and loses or duplicates nothing",
    [
      fc.uniqueArray(
        fc.record({
          name: fc.integer({ min: 0, max: 239 }).map((i) => `Metric${i}`),
          set: fc.constantFrom(0, 1, 2),
          values: fc.option(fc.integer({ min: 1, max: 260 }), { nil: undefined }),
          count: fc.integer({ min: 1, max: 1000 }),
        }),
        { selector: (d) => `${d.name}/${d.set}`, maxLength: 400 },
      ),
    ],
    ([specs]) => {
      const sets: ReadonlyArray<ReadonlyArray<readonly [string, string]>> = [
        [
          ["Service", "docket"],
          ["Table", table],
        ],
        [
          ["Service", "docket"],
          ["Table", table],
          ["outcome", "written"],
        ],
        [
          ["Service", "docket"],
          ["Table", table],
          ["index", "TimeRangeIndex"],
        ],
      ]
      const data: Array<MetricsExport.Datum> = specs.map((spec) => ({
        name: spec.name,
        unit: spec.values === undefined ? "Count" : "Milliseconds",
        dimensions: sets[spec.set]!,
        value:
          spec.values === undefined
            ? { _tag: "Count", count: spec.count }
            : {
                _tag: "Distribution",
                values: Array.from({ length: spec.values }, (_, i) => i + 0.5),
                counts: Array.from({ length: spec.values }, () => spec.count),
              },
      }))
      const lines = MetricsExport.renderEmf(data, 1_700_000_000_000)
      const seen = new Map<string, number>()
      for (const line of lines) {
        expect(emfProblems(line)).toStrictEqual([])
        const doc = JSON.parse(line) as Record<string, any>
        const directive = doc._aws.CloudWatchMetrics[0]
        const key = JSON.stringify(directive.Dimensions[0].map((d: string) => [d, doc[d]]))
        for (const { Name } of directive.Metrics) {
          const value = doc[Name]
          const total = typeof value === "number" ? value : value.Counts.reduce((a: number, b: number) => a + b, 0)
          seen.set(`${Name}/${key}`, (seen.get(`${Name}/${key}`) ?? 0) + total)
        }
      }
      const expected = new Map(
        data.map((d) => [
          `${d.name}/${JSON.stringify(d.dimensions)}`,
          d.value._tag === "Count" ? d.value.count : d.value.counts.reduce((a, b) => a + b, 0),
        ]),
      )
      expect(seen).toStrictEqual(expected)
    },
    { fastCheck: { numRuns: 40 } },
  )

  it("splits distributions and batches PutMetricData within the API limits", () => {
    const values = Array.from({ length: 320 }, (_, i) => i + 0.5)
    const data: Array<MetricsExport.Datum> = [
      ...Array.from({ length: 1500 }, (_, i) => ({
        name: "CacheHits",
        unit: "Count" as const,
        dimensions: [
          ["Service", "docket"],
          ["Table", `t${i}`],
        ] as const,
        value: { _tag: "Count" as const, count: i + 1 },
      })),
      {
        name: "EventLag",
        unit: "Milliseconds",
        dimensions: [["Service", "docket"]],
        value: { _tag: "Distribution", values, counts: values.map(() => 2) },
      },
    ]
    const requests = MetricsExport.putMetricDataRequests(data, 1_700_000_000_000)
    expect(requests.map((r) => r.MetricData?.length)).toStrictEqual([1000, 503])
    const all = requests.flatMap((r) => r.MetricData ?? [])
    expect(requests.every((r) => r.Namespace === "Docket")).toBe(true)
    expect(all.reduce((sum, d) => sum + (d.Value ?? 0), 0)).toBe((1500 * 1501) / 2)
    const lag = all.filter((d) => d.MetricName === "EventLag")
    expect(lag.map((d) => d.Values?.length)).toStrictEqual([150, 150, 20])
    expect(lag.flatMap((d) => d.Values ?? [])).toStrictEqual(values)
    expect(lag.every((d) => d.Unit === "Milliseconds" && d.Counts?.length === d.Values?.length)).toBe(true)
    expect(all[0]).toStrictEqual({
      MetricName: "CacheHits",
      Dimensions: [
        { Name: "Service", Value: "docket" },
        { Name: "Table", Value: "t0" },
      ],
      Timestamp: new Date(1_700_000_000_000),
      Unit: "Count",
      Value: 1,
    })
    // EMF: at most 100 values per metric per line.
    const lines = MetricsExport.renderEmf(data.slice(1500), 0)
    expect(lines).toHaveLength(4)
    for (const line of lines) expect(emfProblems(line)).toStrictEqual([])
  })

  describe("publishCloudWatch against a local HTTP endpoint", () => {
    interface Recorded {
      readonly target: string | undefined
      readonly body: any
    }
    /** A CloudWatch stand-in: records each request, answers with the given statuses in turn (then 200). */
    const server = (statuses: Array<number>) =>
      Effect.acquireRelease(
        Effect.async<{ url: string; requests: Array<Recorded>; http: http.Server }>((resume) => {
          const requests: Array<Recorded> = []
          const s = http.createServer((req, res) => {
            const chunks: Array<Buffer> = []
            req.on("data", (c: Buffer) => chunks.push(c))
            req.on("end", () => {
              const raw = Buffer.concat(chunks)
              const text = (req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(raw) : raw).toString("utf8")
              requests.push({ target: req.headers["x-amz-target"] as string | undefined, body: JSON.parse(text) })
              const status = statuses.shift() ?? 200
              res.writeHead(status, { "content-type": "application/x-amz-json-1.0" })
              res.end(
                status === 200
                  ? "{}"
                  : JSON.stringify({
                      __type: status >= 500 ? "InternalServiceFault" : "InvalidParameterValueException",
                      message: "rejected by the test server",
                    }),
              )
            })
          })
          s.listen(0, "127.0.0.1", () =>
            resume(Effect.succeed({ url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, requests, http: s })),
          )
        }),
        (started) =>
          Effect.async<void>((resume) => {
            started.http.close(() => resume(Effect.void))
          }),
      )

    const client = (url: string) =>
      MetricsExport.layerCloudWatch({
        endpoint: url,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      })

    it.scopedLive("sends PutMetricData with the namespace, dimensions and values; retries a 500", () =>
      Effect.gen(function* () {
        const { url, requests } = yield* server([500])
        const exporter = yield* MetricsExport.make({ table })
        yield* exporter.flush(() => Effect.void) // drain
        yield* Metric.incrementBy(CacheMetrics.eventsFailed, 4)
        yield* Metric.update(CacheMetrics.eventLag, 15)
        yield* Metric.update(CacheMetrics.eventLag, 15)
        const sent = yield* MetricsExport.publishCloudWatch({ maxAttempts: 3, base: "1 millis", cap: "5 millis" }).pipe(
          Effect.provide(client(url)),
          Effect.provideService(MetricsExport.MetricsExport, exporter),
        )
        expect(sent).toBe(1)
        expect(requests).toHaveLength(2)
        expect(requests[1]!.body).toStrictEqual(requests[0]!.body)
        const { target, body } = requests[1]!
        expect(target).toBe("GraniteServiceVersion20100801.PutMetricData")
        expect(body.Namespace).toBe("Docket")
        const failed = body.MetricData.find((d: any) => d.MetricName === "EventsFailed")
        expect(failed).toMatchObject({
          Dimensions: [
            { Name: "Service", Value: "docket" },
            { Name: "Table", Value: table },
          ],
          Unit: "Count",
          Value: 4,
        })
        const lag = body.MetricData.find((d: any) => d.MetricName === "EventLag")
        expect(lag).toMatchObject({ Unit: "Milliseconds", Values: [15], Counts: [2] })
      }),
    )

    it.scopedLive("a rejected publish fails with PublishError and keeps the deltas for the next flush", () =>
      Effect.gen(function* () {
        const { url, requests } = yield* server([400])
        const exporter = yield* MetricsExport.make({ table })
        yield* exporter.flush(() => Effect.void)
        yield* Metric.incrementBy(CacheMetrics.throttles, 7)
        const publish = MetricsExport.publishCloudWatch({ maxAttempts: 3, base: "1 millis", cap: "5 millis" }).pipe(
          Effect.provide(client(url)),
          Effect.provideService(MetricsExport.MetricsExport, exporter),
        )
        const exit = yield* Effect.exit(publish)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(error?._tag).toBe("PublishError")
          expect(error?.reason).toBe("Invalid")
          expect(error?.message).toContain("PutMetricData")
        }
        expect(requests).toHaveLength(1) // not retried: a 400 is not retryable
        yield* publish
        const throttles = requests[1]!.body.MetricData.filter((d: any) => d.MetricName === "Throttles")
        expect(throttles.map((d: any) => d.Value)).toStrictEqual([7])
      }),
    )
  })
})
