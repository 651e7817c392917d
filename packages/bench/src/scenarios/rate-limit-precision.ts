/**
 * `rate-limit-precision`: runs a backfill (more documents than it can finish)
 * with `rps` 50 and then 200 for a fixed time, and records every DynamoDB
 * request on the wire through a small HTTP proxy in front of DynamoDB Local.
 * Achieved rate = requests after the initial burst window / its duration; the
 * burst check is the token-bucket bound: no 1-second window holds more than
 * `rps + burst` requests (and none beyond the first holds more than `rps` plus
 * a small timer slack). The baseline is the configured limit.
 */
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import type * as Harness from "../Harness.js"

const silent = Logger.replace(
  Logger.defaultLogger,
  Logger.map(Logger.jsonLogger, () => undefined),
)

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

const measure = async (ctx: Harness.Context, rps: number, seconds: number) => {
  const iso = await ctx.isolated(`rate-${rps}`)
  const documents = Corpus.generate({ count: Math.ceil(rps * seconds * 0.8) + 200, customers: 20, seed: rps })
  await Corpus.loadBucket(iso.clientConfig, iso.bucket, documents)
  const wire = await proxy(iso.clientConfig.dynamodb.endpoint)
  const layer = Docket.layer(
    DocketConfig.make({
      table: iso.table,
      bucket: iso.bucket,
      region: iso.clientConfig.s3.region,
      dynamodbEndpoint: Option.some(wire.endpoint),
      s3Endpoint: Option.some(iso.clientConfig.s3.endpoint),
      ttlDays: 3650,
      rps,
      burst: rps,
    }),
    {
      dynamodbClient: { credentials: iso.clientConfig.dynamodb.credentials },
      store: { clientConfig: { credentials: iso.clientConfig.s3.credentials } },
    },
  )
  const started = performance.now()
  try {
    await Effect.runPromise(
      Backfill.run({ concurrency: 32 }).pipe(
        Effect.timeout(`${seconds} seconds`),
        Effect.ignore,
        Effect.provide(layer),
        Effect.provide(silent),
      ),
    )
  } finally {
    await wire.close()
  }
  const end = started + seconds * 1000
  const times = wire.times.filter((t) => t >= started && t <= end)
  // Steady state: after the first second (the bucket starts full).
  const steady = times.filter((t) => t >= started + 1000)
  const achieved = steady.length / (seconds - 1)
  let maxWindow = 0
  let maxLaterWindow = 0
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[j] as number) < (times[i] as number) - 1000) j++
    const inWindow = i - j + 1
    maxWindow = Math.max(maxWindow, inWindow)
    if ((times[i] as number) >= started + 2000) maxLaterWindow = Math.max(maxLaterWindow, inWindow)
  }
  return {
    rps,
    burst: rps,
    seconds,
    requests: times.length,
    achievedRps: Math.round(achieved * 100) / 100,
    error: Math.round(Math.abs(achieved / rps - 1) * 10000) / 10000,
    maxRequestsInAnySecond: maxWindow,
    maxRequestsInAnySecondAfterWarmup: maxLaterWindow,
    boundHolds: maxWindow <= rps + rps,
  }
}

const scenario: Harness.Scenario = {
  name: "rate-limit-precision",
  description:
    "A backfill under --rps 50 and 200 (burst = rps), every DynamoDB request timestamped by a proxy. Target: achieved rate within 2% of the limit after the first second (ratio = 1 - worst relative error >= 0.98), and no 1 s window above rps + burst.",
  run: async (ctx) => {
    const seconds = ctx.quick ? 5 : 30
    const results = []
    for (const rps of [50, 200]) {
      const r = await measure(ctx, rps, seconds)
      ctx.log(`  rps ${rps}: achieved ${r.achievedRps}/s, max ${r.maxRequestsInAnySecond} in any 1 s window`)
      results.push(r)
    }
    const worst = Math.max(...results.map((r) => r.error))
    return {
      baseline: Object.fromEntries(results.map((r) => [`rps${r.rps}`, { limit: r.rps, burst: r.burst }])),
      docket: Object.fromEntries(results.map((r) => [`rps${r.rps}`, r])),
      ratio: Math.round((1 - worst) * 10000) / 10000,
      target: 0.98,
      direction: ">=",
      criterion: "1 - worst relative error of achieved/limit at rps 50 and 200",
      checks: [
        {
          name: "1 s windows above rps + burst",
          value: results.filter((r) => !r.boundHolds).length,
          target: 0,
          direction: "<=",
        },
      ],
    }
  },
}

export default scenario
