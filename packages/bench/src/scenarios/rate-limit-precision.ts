/**
 * `rate-limit-precision`: the process's RateLimit under demand that exceeds
 * the limit (64 fibers reading the cache through Docket's DynamoDB backend as
 * fast as they can), at `rps` 50 and then 200 for a fixed time; every DynamoDB
 * request is recorded on the wire through a small HTTP proxy in front of
 * DynamoDB Local. Achieved rate = requests after the first second (the bucket
 * starts full) / the rest of the duration. The burst check is the token-bucket
 * bound: no 1-second window holds more than `rps + burst` grants. Both are
 * counted at the limiter's grants (a wrapper of the process's RateLimit that
 * timestamps each token as it is taken). The SDK's hand-over to HTTP (a
 * timestamping handler) and the wire (a proxy) are context: there, delivery
 * jitter (Node's HTTP agent queueing requests on a loaded machine) moves
 * requests between windows, and the CI runs saw 102 at rps 50 and 405 at rps
 * 200 on the wire, 2% over a bound the limiter meets at its grants. The rate is
 * counted from one second after the first grant, not from the start of the
 * run: the layer's build and the workload's start come first, and the bucket
 * starts full. The
 * baseline is the configured limit.
 *
 * A context row runs a backfill (more documents than it can finish) under the
 * same limits: its achieved rate is the backfill's own throughput whenever that
 * is below the limit (on this shared 2-core machine it often is), so it says
 * whether the bound holds end to end, not how precise the limiter is.
 */
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"
import * as Backfill from "@docket/core/Backfill"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as RateLimit from "@docket/core/RateLimit"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

/** A pass-through proxy that timestamps every request. */
const proxy = async (target: string) => {
  const times: Array<number> = []
  const url = new URL(target)
  const server = createServer((req, res) => {
    times.push(performance.now())
    const upstream = httpRequest(
      { host: url.hostname, port: url.port, path: req.url, method: req.method, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers)
        response.pipe(res)
      },
    )
    upstream.on("error", () => {
      res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    endpoint: `http://127.0.0.1:${port}`,
    times,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The SDK's own HTTP handler, timestamping each request as the SDK hands it over (after the limiter's grant, before the network). */
class Timestamped extends NodeHttpHandler {
  readonly times: Array<number> = []
  override handle(...args: Parameters<NodeHttpHandler["handle"]>) {
    this.times.push(performance.now())
    return super.handle(...args)
  }
}

/**
 * The process's limiter, as Docket builds it (`rps`, `burst`), timestamping each grant: the instant
 * its token is taken, in the granted fiber, before the call's SDK work begins.
 */
const observed = (rps: number, grants: Array<number>) =>
  Layer.scoped(
    RateLimit.RateLimit,
    Effect.map(RateLimit.make({ rps, burst: rps }), (limiter) => ({
      ...limiter,
      limit: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        limiter.limit(
          Effect.zipRight(
            Effect.sync(() => grants.push(performance.now())),
            effect,
          ),
        ),
    })),
  )

/** The largest number of `times` (sorted) in any closed window of `ms`; with `after`, only windows ending at or after it. */
const maxInWindow = (times: ReadonlyArray<number>, ms: number, after = Number.NEGATIVE_INFINITY) => {
  let max = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[j] as number) < (times[i] as number) - ms) j++
    if ((times[i] as number) >= after) max = Math.max(max, i - j + 1)
  }
  return max
}

/** What drives the DynamoDB requests: cache reads from 64 fibers (saturating), or a backfill (context). */
type Workload = "saturating" | "backfill"

const measure = async (ctx: Harness.Context, workload: Workload, rps: number, seconds: number) => {
  const iso = await ctx.isolated(`rate-${workload}-${rps}`)
  if (workload === "backfill") {
    const documents = Corpus.generate({ count: Math.ceil(rps * seconds * 0.8) + 200, customers: 20, seed: rps })
    await Corpus.loadBucket(iso.clientConfig, iso.bucket, documents)
  }
  const wire = await proxy(iso.clientConfig.dynamodb.endpoint)
  const handler = new Timestamped()
  const grants: Array<number> = []
  const layer = Harness.docketLayer(
    iso,
    Harness.endpointsOf(iso, { dynamodbEndpoint: wire.endpoint }),
    { rps, burst: rps },
    { dynamodbClient: { requestHandler: handler }, rateLimit: observed(rps, grants) },
  )
  // 64 readers, each one consistent GetItem after the other (of keys that are not cached: no decode).
  const saturating = Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
    Effect.forEach(
      Array.from({ length: 64 }, (_, i) => i),
      (i) => {
        let n = 0
        return Effect.forever(Effect.suspend(() => cache.get("change", `CHG-rate-${i}-${n++}`)))
      },
      { concurrency: "unbounded", discard: true },
    ),
  )
  const started = performance.now()
  try {
    await Effect.runPromise(
      (workload === "saturating" ? Effect.ignore(saturating) : Effect.ignore(Backfill.run({ concurrency: 32 }))).pipe(
        Effect.timeout(`${seconds} seconds`),
        Effect.ignore,
        Effect.provide(layer),
        Effect.provide(Harness.silentJsonLogger),
      ),
    )
  } finally {
    await wire.close()
  }
  const end = started + seconds * 1000
  const times = wire.times.filter((t) => t >= started && t <= end)
  const sent = handler.times.filter((t) => t >= started && t <= end)
  const granted = grants.filter((t) => t >= started && t <= end)
  // Steady state: from one second after the first grant (the bucket starts full, and the first call
  // comes when the layer is built and the workload has started, not at \`started\`), to the end.
  const first = granted[0] ?? started
  const steadyRate = (ts: ReadonlyArray<number>) =>
    ts.filter((t) => t >= first + 1000).length / Math.max(0.001, (end - first - 1000) / 1000)
  const achieved = steadyRate(granted)
  // The token bucket's bound holds at its grants; the hand-over to HTTP and the wire add jitter
  // (context: Node's HTTP agent queues requests on a loaded machine, moving them between windows).
  const maxWindow = maxInWindow(granted, 1000)
  return {
    workload,
    rps,
    burst: rps,
    seconds,
    requests: times.length,
    achievedRps: Math.round(achieved * 100) / 100,
    achievedRpsAtHandOver: Math.round(steadyRate(sent) * 100) / 100,
    achievedRpsOnTheWire: Math.round(steadyRate(times) * 100) / 100,
    error: Math.round(Math.abs(achieved / rps - 1) * 10000) / 10000,
    /** At the limiter's grants: what the bound is checked on. */
    maxRequestsInAnySecond: maxWindow,
    maxRequestsInAnySecondAfterWarmup: maxInWindow(granted, 1000, first + 2000),
    /** As the SDK hands requests to HTTP: context. */
    maxRequestsInAnySecondAtHandOver: maxInWindow(sent, 1000),
    /** On the wire (the proxy): context, jitter included. */
    maxRequestsInAnySecondOnTheWire: maxInWindow(times, 1000),
    boundHolds: maxWindow <= rps + rps,
  }
}

/**
 * The limiter alone, no I/O: 64 fibers taking tokens for `seconds`; the rate after the first second.
 * When the wire rate falls short of both the limit and this, the machine (DynamoDB Local's
 * throughput under the load of the moment) is what bounded it.
 */
const limiterOnly = async (rps: number, seconds: number) => {
  const times: Array<number> = []
  const started = performance.now()
  await Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(RateLimit.make({ rps, burst: rps }), (limiter) =>
        Effect.forEach(
          Array.from({ length: 64 }, (_, i) => i),
          () => Effect.forever(limiter.limit(Effect.sync(() => times.push(performance.now())))),
          { concurrency: "unbounded", discard: true },
        ).pipe(Effect.timeout(`${seconds} seconds`), Effect.ignore),
      ),
    ),
  )
  const steady = times.filter((t) => t >= started + 1000 && t <= started + seconds * 1000).length / (seconds - 1)
  return {
    rps,
    achievedRps: Math.round(steady * 100) / 100,
    error: Math.round(Math.abs(steady / rps - 1) * 10000) / 10000,
  }
}

const scenario: Harness.Scenario = {
  name: "rate-limit-precision",
  description:
    "The process's RateLimit at rps 50 and 200 (burst = rps) under demand above the limit (64 fibers of cache reads through the DynamoDB backend), every grant of the limiter timestamped (the rate and the window bound), and every DynamoDB request as the SDK hands it to HTTP and on the wire through a proxy (context); a backfill under the same limits is a context row. Target: achieved rate within 2% of the limit after the first second (ratio = 1 - worst relative error >= 0.98), and no 1 s window above rps + burst.",
  run: async (ctx) => {
    const seconds = ctx.quick ? 5 : 30
    const results = []
    const backfills = []
    const alone = []
    for (const rps of [50, 200]) {
      alone.push(await limiterOnly(rps, seconds))
      const r = await measure(ctx, "saturating", rps, seconds)
      ctx.log(
        `  rps ${rps}, saturating: achieved ${r.achievedRps}/s (${r.achievedRpsOnTheWire}/s on the wire), max ${r.maxRequestsInAnySecond} granted in any 1 s window (${r.maxRequestsInAnySecondAtHandOver} at the SDK's hand-over, ${r.maxRequestsInAnySecondOnTheWire} on the wire; bound ${2 * rps})`,
      )
      results.push(r)
      const b = await measure(ctx, "backfill", rps, seconds)
      ctx.log(
        `  rps ${rps}, backfill: achieved ${b.achievedRps}/s (${b.achievedRpsOnTheWire}/s on the wire), max ${b.maxRequestsInAnySecond} granted in any 1 s window (${b.maxRequestsInAnySecondAtHandOver} at the SDK's hand-over, ${b.maxRequestsInAnySecondOnTheWire} on the wire; bound ${2 * rps})`,
      )
      backfills.push(b)
    }
    const worst = Math.max(...results.map((r) => r.error))
    return {
      baseline: Object.fromEntries(results.map((r) => [`rps${r.rps}`, { limit: r.rps, burst: r.burst }])),
      docket: Object.fromEntries(results.map((r) => [`rps${r.rps}`, r])),
      context: {
        limiterOnly: Object.fromEntries(alone.map((r) => [`rps${r.rps}`, r])),
        backfill: Object.fromEntries(backfills.map((r) => [`rps${r.rps}`, r])),
      },
      ratio: Math.round((1 - worst) * 10000) / 10000,
      target: 0.98,
      direction: ">=",
      criterion: "1 - worst relative error of achieved/limit at rps 50 and 200, demand above the limit",
      checks: [
        {
          name: "1 s windows above rps + burst (saturating and backfill runs)",
          value: [...results, ...backfills].filter((r) => !r.boundHolds).length,
          target: 0,
          direction: "<=",
        },
      ],
      notes: `Demand: 64 fibers of consistent GetItems through DocumentCache (the DynamoDB backend's calls all pass the process's RateLimit). Context row, the limiter alone (no I/O, the same 64 fibers): ${alone.map((a) => `${a.achievedRps}/s at rps ${a.rps}`).join(", ")}; a wire rate short of both the limit and this is the machine's (DynamoDB Local's throughput under the load of the moment), not the limiter's. Context row, a backfill (concurrency 32) under the same limits: achieved ${backfills.map((b) => `${b.achievedRps}/s at rps ${b.rps}`).join(", ")}; below the limit it is the backfill's own throughput on this machine (GetObject, schema check, BatchGetItem, a transaction per document), not the limiter's error.`,
    }
  },
}

export default scenario
