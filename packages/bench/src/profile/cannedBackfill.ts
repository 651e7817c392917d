/**
 * Docket's own CPU per document of a backfill, without I/O: the SDK clients of Docket and of the
 * raw floor get a canned `requestHandler` (the SDK serialises, signs and parses as usual; the
 * handler answers at once from an in-memory bucket and table, the same for both), so what is left
 * is the CPU each side spends per document.
 *
 *   npm run profile -- canned-backfill [fresh|rerun|reconcile] [--rounds N] [--n N] [--cpu-profile]
 *
 * - `fresh`: `Backfill.run` over a bucket of `n` documents and an empty table (list, BatchGetItem,
 *   GetObject, schema check, one TransactWriteItems each) against the careful raw loop of the
 *   `backfill-vs-floor` benchmark.
 * - `rerun`: an unchanged re-run (list, BatchGetItem per 100) against a raw listing, and a raw
 *   listing with BatchGetItems of 100.
 * - `reconcile`: a clean reconcile (listing merge-joined with a Scan of the default segments)
 *   against the raw listing and the raw Scan.
 *
 * Medians of interleaved rounds; `--cpu-profile` writes Docket's run of each mode as a V8 CPU
 * profile and prints its top self-time functions.
 */
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { Readable } from "node:stream"
import { BatchGetItemCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb"
import { paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Reconcile from "@docket/core/Reconcile"
import * as S3Key from "@docket/core/S3Key"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"
import * as FreshFloor from "../scenarios/backfill-vs-floor.js"
import * as Summarize from "./summarize.js"

type Item = Record<string, { S?: string; N?: string }>
interface Request {
  readonly method: string
  readonly path: string
  readonly query?: Record<string, string | undefined>
  readonly headers: Record<string, string>
  readonly body?: unknown
}

/** The canned bucket (sorted keys, bodies, ETags) and table. */
const objects = new Map<string, { body: Buffer; etag: string }>()
let sortedKeys: Array<string> = []
const table = new Map<string, Item>()
const keyOf = (item: Item) => `${item.pk?.S}|${item.sk?.S}`

const answer = (statusCode: number, headers: Record<string, string>, body: unknown = new Uint8Array()) =>
  Promise.resolve({ response: { statusCode, reason: "OK", headers, body } })
const json = (value: unknown) =>
  answer(200, { "content-type": "application/x-amz-json-1.0" }, Buffer.from(JSON.stringify(value)))
const text = (body: unknown) =>
  body === undefined ? "" : typeof body === "string" ? body : Buffer.from(body as Uint8Array).toString()
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const listPage = (query: Record<string, string | undefined>) => {
  const after = query["continuation-token"] ?? query["start-after"] ?? ""
  let start = 0
  while (start < sortedKeys.length && sortedKeys[start]! <= after) start++
  const max = Number(query["max-keys"] ?? 1000)
  const page = sortedKeys.slice(start, start + max)
  const truncated = start + max < sortedKeys.length
  const contents = page
    .map(
      (key) =>
        `<Contents><Key>${xmlEscape(key)}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&quot;${objects.get(key)!.etag}&quot;</ETag><Size>${objects.get(key)!.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join("")
  const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>canned</Name><Prefix></Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${truncated ? `<NextContinuationToken>${xmlEscape(page.at(-1)!)}</NextContinuationToken>` : ""}</ListBucketResult>`
  return answer(200, { "content-type": "application/xml" }, Buffer.from(xml))
}

/** A canned `requestHandler`: DynamoDB's BatchGetItem and TransactWriteItems; S3's ListObjectsV2 and GetObject. */
const handler = {
  metadata: { handlerProtocol: "h1" },
  destroy: () => {},
  updateHttpClientConfig: () => {},
  httpHandlerConfigs: () => ({}),
  handle: (request: Request) => {
    const target = request.headers["x-amz-target"]
    if (target !== undefined) {
      const input = JSON.parse(text(request.body)) as Record<string, any>
      if (target.endsWith("BatchGetItem")) {
        const responses: Record<string, Array<Item>> = {}
        for (const [name, { Keys }] of Object.entries(input.RequestItems as Record<string, { Keys: Array<Item> }>)) {
          responses[name] = Keys.flatMap((k) => {
            const item = table.get(keyOf(k))
            return item === undefined ? [] : [item]
          })
        }
        return json({ Responses: responses, UnprocessedKeys: {} })
      }
      if (target.endsWith("Scan")) {
        const items = [...table.values()].filter(
          (item, i) => item.sk?.S === "DOC" && i % input.TotalSegments === input.Segment,
        )
        return json({ Items: items, Count: items.length, ScannedCount: items.length })
      }
      if (target.endsWith("TransactWriteItems")) {
        for (const t of input.TransactItems as Array<{ Put?: { Item: Item } }>) {
          if (t.Put !== undefined) table.set(keyOf(t.Put.Item), t.Put.Item)
        }
        return json({})
      }
      return json({})
    }
    if (request.method === "GET") {
      if (request.query?.["list-type"] === "2") return listPage(request.query)
      const key = decodeURIComponent(request.path.replace(/^\/canned\//, ""))
      const object = objects.get(key)
      if (object === undefined) return answer(404, {})
      return answer(
        200,
        {
          etag: `"${object.etag}"`,
          "content-type": "application/json",
          "content-length": String(object.body.length),
          "last-modified": "Tue, 01 Dec 2026 00:00:00 GMT",
        },
        Readable.from([object.body]),
      )
    }
    return answer(404, {})
  },
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Runs each of `runs` (one run over `n` documents) in `rounds` interleaved rounds; CPU ms per document. */
const compare = async (
  name: string,
  rounds: number,
  n: number,
  prepare: () => void,
  runs: Record<string, () => Promise<unknown>>,
) => {
  const cpu: Record<string, Array<number>> = {}
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of Object.entries(runs)) {
      prepare()
      const start = process.cpuUsage()
      await run()
      const used = process.cpuUsage(start)
      cpu[label] = [...(cpu[label] ?? []), (used.user + used.system) / 1000 / n]
    }
  }
  process.stdout.write(
    `${name}: CPU ms per document, medians of ${rounds} interleaved rounds of ${n} (load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")})\n${Object.keys(runs)
      .map(
        (label) =>
          `  ${label.padEnd(22)} ${median(cpu[label]!).toFixed(3)}  (${cpu[label]!.map((x) => x.toFixed(2)).join(" ")})`,
      )
      .join("\n")}\n`,
  )
}

const cpuProfile = async (name: string, run: () => Promise<unknown>) => {
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 200 })
  await session.post("Profiler.start")
  await run()
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  const file = join(tmpdir(), `${name}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  const { totalMs, modules, functions } = Summarize.summarize(profile as never)
  const rows = (entries: ReadonlyArray<Summarize.Entry>) =>
    entries
      .slice(0, 25)
      .map((e) => `  ${e.share.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}`)
      .join("\n")
  process.stdout.write(
    `${name}: ${file} (${totalMs} ms sampled)\nby module:\n${rows(modules)}\nby function:\n${rows(functions)}\n`,
  )
}

/** `npm run profile -- canned-backfill [fresh|rerun]`. */
export const run = async (args: ReadonlyArray<string>) => {
  const what = args.find((a) => a === "fresh" || a === "rerun" || a === "reconcile")
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name)
    return at >= 0 ? Number(args[at + 1]) : fallback
  }
  const rounds = option("--rounds", 5)
  const n = option("--n", 2000)
  const endpoint = "http://127.0.0.1:9"
  const credentials = { accessKeyId: "canned", secretAccessKey: "canned" }
  const registry = DocumentKind.defaultRegistry
  for (const doc of Corpus.generate({ count: n, customers: 50, seed: 13 })) {
    const body = Buffer.from(JSON.stringify(doc))
    const key = S3Key.forDocument("", registry.get(doc.kind) as DocumentKind.DocumentKind<any>, doc.id)
    objects.set(key, { body, etag: createHash("md5").update(body).digest("hex") })
  }
  sortedKeys = [...objects.keys()].sort()
  const settings = DocketConfig.make({
    table: "canned",
    bucket: "canned",
    region: "us-east-1",
    dynamodbEndpoint: Option.some(endpoint),
    s3Endpoint: Option.some(endpoint),
    ttlDays: 3650,
    rps: 1_000_000,
  })
  const runtime = ManagedRuntime.make(
    Docket.layer(settings, {
      dynamodbClient: { credentials, requestHandler: handler as never },
      store: { clientConfig: { credentials, requestHandler: handler as never } },
    }).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
  )
  // The same with DOCKET_LOG_LEVEL=warning: what the per-document info lines cost.
  const quiet = ManagedRuntime.make(
    Docket.layer(settings, {
      dynamodbClient: { credentials, requestHandler: handler as never },
      store: { clientConfig: { credentials, requestHandler: handler as never } },
    }).pipe(
      Layer.provide(Harness.silentJsonLogger),
      Layer.merge(Harness.silentJsonLogger),
      Layer.merge(Logger.minimumLogLevel(LogLevel.Warning)),
    ),
  )
  const config = { region: "us-east-1", endpoint, credentials, requestHandler: handler as never }
  const iso = {
    table: "canned",
    bucket: "canned",
    clientConfig: { s3: { ...config, forcePathStyle: true }, dynamodb: config },
  } as unknown as Harness.Isolated
  const docket = async () => {
    const summary = await runtime.runPromise(Backfill.run({ concurrency: 16 }))
    if (summary.failed > 0) throw new Error(`backfill failed: ${summary.failures[0]?.message}`)
  }
  const docketQuiet = async () => {
    const summary = await quiet.runPromise(Backfill.run({ concurrency: 16 }))
    if (summary.failed > 0) throw new Error(`backfill failed: ${summary.failures[0]?.message}`)
  }
  const s3 = new S3Client({ ...config, forcePathStyle: true })
  const dynamodb = new DynamoDBClient(config)
  const rawList = async () => {
    const listed: Array<string> = []
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: "canned" })) {
      for (const o of page.Contents ?? []) listed.push(o.Key as string)
    }
  }
  const rawListAndBatchGet = async () => {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: "canned" })) {
      const refs = (page.Contents ?? []).flatMap((o) => Option.toArray(S3Key.parse("", o.Key as string, registry)))
      await Promise.all(
        Array.from({ length: Math.ceil(refs.length / 100) }, (_, i) =>
          dynamodb.send(
            new BatchGetItemCommand({
              RequestItems: {
                canned: {
                  Keys: refs
                    .slice(i * 100, i * 100 + 100)
                    .map((r) => ({ pk: { S: Items.documentPk(r.kind, r.id) }, sk: { S: "DOC" } })),
                  ProjectionExpression: "pk, etag, s3Key, version, #t",
                  ExpressionAttributeNames: { "#t": "time" },
                },
              },
            }),
          ),
        ),
      )
    }
  }
  try {
    if (what === undefined || what === "fresh") {
      const empty = () => table.clear()
      empty()
      await docket()
      empty()
      await FreshFloor.floor(iso)
      await compare("fresh", rounds, n, empty, {
        docket,
        "docket, log level warning": docketQuiet,
        floor: () => FreshFloor.floor(iso),
      })
      if (args.includes("--cpu-profile")) {
        empty()
        await cpuProfile("canned-fresh", docket)
        empty()
        await cpuProfile("canned-fresh-floor", () => FreshFloor.floor(iso))
      }
    }
    if (what === undefined || what === "rerun" || what === "reconcile") {
      table.clear()
      await docket()
    }
    if (what === undefined || what === "reconcile") {
      const reconcile = async () => {
        const report = await runtime.runPromise(Reconcile.run())
        if (report.compared !== n || report.bodiesRead !== 0) throw new Error(`reconcile: ${JSON.stringify(report)}`)
      }
      await reconcile()
      const rawScan = () =>
        Promise.all(
          Array.from({ length: Reconcile.defaultSegments }, (_, segment) =>
            dynamodb.send(
              new ScanCommand({
                TableName: "canned",
                Segment: segment,
                TotalSegments: Reconcile.defaultSegments,
                FilterExpression: "sk = :doc",
                ExpressionAttributeValues: { ":doc": { S: "DOC" } },
              }),
            ),
          ),
        )
      await compare("reconcile", rounds, n, () => {}, { docket: reconcile, rawList, rawScan })
      if (args.includes("--cpu-profile")) await cpuProfile("canned-reconcile", reconcile)
    }
    if (what === undefined || what === "rerun") {
      await compare("rerun", rounds, n, () => {}, { docket, rawList, rawListAndBatchGet })
      if (args.includes("--cpu-profile")) await cpuProfile("canned-rerun", docket)
    }
  } finally {
    s3.destroy()
    dynamodb.destroy()
    await runtime.dispose()
    await quiet.dispose()
  }
}
