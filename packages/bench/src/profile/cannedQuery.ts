/**
 * Docket's own CPU per query, without I/O: the three questions of `query-vs-raw` (quick corpus)
 * asked once against DynamoDB Local with every answer recorded, then replayed from memory to the
 * SDK clients of Docket and of the raw baselines (the SDK serialises, signs and parses as usual;
 * the handler answers at once), so what differs is CPU.
 *
 *   npm run profile -- canned-query [--rounds N] [--n N] [--stub] [--questions A,B] [--profile [--paths A,B]] [--record]
 *
 * Per query, medians of interleaved rounds of `n`: raw QueryCommand pagination as the bench's
 * baseline asks (`raw`), raw with the parameters Docket sends (`exact`), the page API (`page`) and
 * the Stream API (`stream`). With `--stub`, also the three over a stub client that returns the SDK's
 * parsed outputs at once (`raw/stub`, `page/stub`, `stream/stub`): Docket's and Effect's own CPU,
 * without the SDK's serialising, signing and parsing. With `--profile`, V8's CPU profile of the page and Stream APIs over
 * each question, summarised (top functions and modules); `--paths raw,page` profiles those instead. The recording is kept in the temporary
 * directory (`--record` takes it again).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DynamoDB from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as RateLimit from "@docket/core/RateLimit"
import * as LocalStack from "@docket/local/LocalStack"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"
import { queries, rawQuery } from "../scenarios/query-vs-raw.js"
import * as Summarize from "./summarize.js"

interface Request {
  readonly headers: Record<string, string>
  readonly body?: unknown
}
interface Answer {
  readonly statusCode: number
  readonly headers: Record<string, string>
  readonly body: string
}

const table = "canned-query"
const bodyOf = (request: Request): string =>
  request.body === undefined
    ? ""
    : typeof request.body === "string"
      ? request.body
      : Buffer.from(request.body as Uint8Array).toString("utf8")
/** A request's key: its target and body, the table's name and the clock's `:now` left out. */
const keyOf = (request: Request): string =>
  `${request.headers["x-amz-target"]} ${bodyOf(request)
    .replace(/":now":\{"N":"\d+"\}/, '":now":{"N":"0"}')
    .replace(/"TableName":"[^"]*"/, '"TableName":""')}`

/** Asks every question through every path once against DynamoDB Local, recording each answer. */
const record = async (): Promise<Record<string, Answer>> => {
  const stack = await LocalStack.start()
  const answers: Record<string, Answer> = {}
  try {
    const { table: real, clientConfig } = await LocalStack.isolate(stack, "canned-query", "bench")
    await Corpus.loadCache(clientConfig, real, Corpus.generate({ count: 2_000, customers: 20, seed: 7 }))
    const http = new NodeHttpHandler()
    const recorder = {
      metadata: { handlerProtocol: "h1" },
      destroy: () => http.destroy(),
      updateHttpClientConfig: () => {},
      httpHandlerConfigs: () => ({}),
      handle: async (request: Request, options?: unknown) => {
        const { response } = await http.handle(request as never, options as never)
        const chunks: Array<Buffer> = []
        for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
        const body = Buffer.concat(chunks)
        answers[keyOf(request)] = {
          statusCode: response.statusCode,
          headers: response.headers,
          body: body.toString("utf8"),
        }
        return { response: { ...response, body: new Uint8Array(body) } }
      },
    }
    const paths = make(
      new DynamoDBClient({ ...clientConfig.dynamodb, requestHandler: recorder as never, maxAttempts: 1 }),
      real,
    )
    try {
      for (const q of queries) for (const path of Object.values(paths.runs)) await path(q)
    } finally {
      await paths.dispose()
    }
  } finally {
    await stack.stop()
  }
  return answers
}

/** The four paths over one SDK client (the bench's layer is `DynamoDB.make` over its own client). */
const make = (raw: DynamoDBClient, tableName: string) => {
  const runtime = ManagedRuntime.make(
    Layer.effect(DocumentCache.DocumentCache, DynamoDB.make(raw, { table: tableName, retentionDays: 3650 })).pipe(
      Layer.provide(Layer.mergeAll(DocumentKind.layerDefault, RateLimit.layer({ rps: 100_000, burst: 10_000 }))),
      Layer.provide(Harness.silentJsonLogger),
      Layer.merge(Harness.silentJsonLogger),
    ),
  )
  type Q = (typeof queries)[number]
  const runs: Record<string, (q: Q) => Promise<number>> = {
    raw: (q) => rawQuery(raw, tableName, q.raw, "plain"),
    exact: (q) => rawQuery(raw, tableName, q.raw, "docket"),
    page: (q) =>
      runtime.runPromise(
        Effect.flatMap(DocumentCache.DocumentCache, (cache) =>
          Effect.gen(function* () {
            let n = 0
            let cursor: string | undefined
            do {
              const page = yield* cache.page(q.query, cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor })
              n += page.items.length
              cursor = page.cursor._tag === "Some" ? page.cursor.value : undefined
            } while (cursor !== undefined)
            return n
          }),
        ),
      ),
    stream: (q) =>
      runtime.runPromise(
        Effect.flatMap(DocumentCache.DocumentCache, (cache) => Stream.runFold(cache.query(q.query), 0, (n) => n + 1)),
      ),
  }
  return {
    runs,
    dispose: async () => {
      raw.destroy()
      await runtime.dispose()
    },
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** `npm run profile -- canned-query`. */
export const run = async (args: ReadonlyArray<string>) => {
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name)
    return at >= 0 ? Number(args[at + 1]) : fallback
  }
  const rounds = option("--rounds", 7)
  const n = option("--n", 100)
  const dir = join(tmpdir(), "docket-profiles")
  mkdirSync(dir, { recursive: true })
  const file = join(dir, "canned-query-answers.json")
  if (args.includes("--record") || !existsSync(file)) {
    process.stderr.write("[profile] recording the answers of DynamoDB Local (quick corpus, 2,000 documents)\n")
    writeFileSync(file, JSON.stringify(await record()))
  }
  const answers = JSON.parse(readFileSync(file, "utf8")) as Record<string, Answer>
  const replay = {
    metadata: { handlerProtocol: "h1" },
    destroy: () => {},
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
    handle: (request: Request) => {
      const answer = answers[keyOf(request)]
      if (answer === undefined) return Promise.reject(new Error(`no recorded answer for ${keyOf(request)}`))
      return Promise.resolve({
        response: {
          statusCode: answer.statusCode,
          reason: "OK",
          headers: answer.headers,
          body: Buffer.from(answer.body),
        },
      })
    },
  }
  const sdk = new DynamoDBClient({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:9",
    credentials: { accessKeyId: "canned", secretAccessKey: "canned" },
    requestHandler: replay as never,
    maxAttempts: 1,
  })
  // The SDK's parsed outputs, captured once, for a stub client: Docket's own CPU without the SDK's.
  type Input = {
    IndexName?: string
    Limit?: number
    ExpressionAttributeValues?: Record<string, { S?: string }>
    ExclusiveStartKey?: unknown
  }
  const inputKey = (input: Input) =>
    `${input.IndexName}|${input.ExpressionAttributeValues?.[":pk"]?.S}|${input.ExpressionAttributeValues?.[":lo"]?.S}|${input.Limit}|${JSON.stringify(input.ExclusiveStartKey ?? null)}`
  const outputs = new Map<string, unknown>()
  const capturing = {
    send: async (command: { input: Input }, options?: unknown) => {
      const output = await sdk.send(command as never, options as never)
      outputs.set(inputKey(command.input), output)
      return output
    },
    destroy: () => {},
  } as unknown as DynamoDBClient
  const stubClient = {
    send: (command: { input: Input }) => {
      const output = outputs.get(inputKey(command.input))
      return output === undefined ? Promise.reject(new Error("no captured output")) : Promise.resolve(output)
    },
    destroy: () => {},
  } as unknown as DynamoDBClient
  const capture = make(capturing, table)
  for (const q of queries) for (const path of Object.values(capture.runs)) await path(q)
  await capture.dispose()
  const sdkPaths = make(sdk, table)
  const stubPaths = make(stubClient, table)
  const stub = args.includes("--stub")
  const paths = {
    runs: {
      ...sdkPaths.runs,
      ...(stub
        ? {
            "raw/stub": stubPaths.runs.raw!,
            "page/stub": stubPaths.runs.page!,
            "stream/stub": stubPaths.runs.stream!,
          }
        : {}),
    } as Record<string, (q: (typeof queries)[number]) => Promise<number>>,
    dispose: async () => {
      await sdkPaths.dispose()
      await stubPaths.dispose()
    },
  }
  // `--questions status,customer`: only the questions whose name starts with one of these.
  const only = args.indexOf("--questions")
  const asked =
    only >= 0 ? queries.filter((q) => (args[only + 1] ?? "").split(",").some((w) => q.name.startsWith(w))) : queries
  try {
    for (const q of asked) {
      const counts = await Promise.all(Object.values(paths.runs).map((path) => path(q)))
      if (new Set(counts).size !== 1) throw new Error(`${q.name}: the paths disagree (${counts.join(", ")} items)`)
      for (const path of Object.values(paths.runs)) for (let i = 0; i < 100; i++) await path(q)
      const cpu: Record<string, Array<number>> = {}
      for (let r = 0; r < rounds; r++) {
        for (const [label, path] of Object.entries(paths.runs)) {
          const start = process.cpuUsage()
          for (let i = 0; i < n; i++) await path(q)
          const used = process.cpuUsage(start)
          cpu[label] = [...(cpu[label] ?? []), (used.user + used.system) / 1000 / n]
        }
      }
      process.stdout.write(
        `${q.name} (${counts[0]} items): CPU ms per query, medians of ${rounds} interleaved rounds of ${n} (load ${loadavg()
          .map((x) => x.toFixed(1))
          .join(" ")}): ${Object.entries(cpu)
          .map(([label, xs]) => `${label} ${median(xs).toFixed(3)}`)
          .join(", ")}\n`,
      )
    }
    if (args.includes("--profile")) {
      const at = args.indexOf("--paths")
      const labels =
        at >= 0 ? (args[at + 1] ?? "").split(",") : stub ? ["page/stub", "stream/stub"] : ["page", "stream"]
      for (const label of labels) {
        const path = paths.runs[label]!
        const session = new Session()
        session.connect()
        await session.post("Profiler.enable")
        await session.post("Profiler.setSamplingInterval", { interval: 100 })
        await session.post("Profiler.start")
        for (let i = 0; i < 5 * n; i++) for (const q of asked) await path(q)
        const { profile } = await session.post("Profiler.stop")
        session.disconnect()
        const out = join(dir, `canned-query-${label.replace("/", "-")}.cpuprofile`)
        writeFileSync(out, JSON.stringify(profile))
        const { totalMs, modules, functions } = Summarize.summarize(profile as never)
        const rows = (entries: ReadonlyArray<Summarize.Entry>, k: number) =>
          entries
            .slice(0, k)
            .map((e) => `  ${e.share.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}`)
            .join("\n")
        process.stdout.write(
          `${label}: ${out} (${totalMs} ms sampled, ${5 * n} x ${asked.length} questions)\nby module:\n${rows(modules, 14)}\nby function:\n${rows(functions, 30)}\n`,
        )
      }
    }
  } finally {
    await paths.dispose()
  }
}
