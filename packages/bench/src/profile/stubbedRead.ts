/**
 * Docket's own CPU per read, without the SDK's or the network's: `send` of every DynamoDB and S3
 * client in this process is stubbed (it answers at once from an in-memory table and bucket, no
 * serialising, signing or parsing), so what is left is Docket's code and the Effect runtime, against
 * the raw baselines' `JSON.parse` (`fixtures/read-floor.ts`) over the same stub.
 *
 *   npm run profile -- stubbed-read [hit|miss] [--old-layout] [--rounds N] [--n N] [--before DIR] [--profile]
 *
 * - hits: 200 documents written by Docket's own `cache.put` (so their items carry `contentHash`),
 *   read back; with `--old-layout` the items are written as `Corpus.loadCache` writes them (the
 *   pre-protocol layout, without `contentHash`).
 * - misses: documents only in the stub bucket, each read's refill awaited.
 * - `--before DIR`: a copy of `packages/core/dist` (e.g. of the commit before a change) loaded
 *   beside the current one; both run in the same process, rounds interleaved, so the machine's
 *   drift hits both alike.
 * - `--profile`: V8's CPU profile of 2,000 operations of the current build, summarised by module
 *   and function.
 *
 * Printed per operation: CPU (`process.cpuUsage`), the median, lower quartile and minimum of
 * interleaved rounds.
 */

import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath, pathToFileURL } from "node:url"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import type * as DocketModule from "@docket/core/Docket"
import type * as DocketConfigModule from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import type * as DocumentCacheModule from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import type * as FallbackReaderModule from "@docket/core/FallbackReader"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as ReadFloor from "../fixtures/read-floor.js"
import * as Harness from "../Harness.js"
import * as Summarize from "./summarize.js"

type Item = Record<string, any>
const table = new Map<string, Item>()
const bucket = new Map<string, string>()
/** Whether TransactWriteItems keeps what it writes (while loading hits; a miss's refill is dropped so it stays a miss). */
let keeping = true
const keyOf = (item: Item) => `${item.pk?.S}|${item.sk?.S}`
const consumed = { ConsumedCapacity: { CapacityUnits: 1 } }

const stubDynamoDB = async (command: { constructor: { name: string }; input: any }): Promise<unknown> => {
  const input = command.input
  switch (command.constructor.name) {
    case "GetItemCommand": {
      const item = table.get(keyOf(input.Key))
      return item === undefined ? consumed : { Item: item, ...consumed }
    }
    case "TransactWriteItemsCommand":
      if (keeping)
        for (const t of input.TransactItems) if (t.Put !== undefined) table.set(keyOf(t.Put.Item), t.Put.Item)
      return { ConsumedCapacity: [] }
    case "PutItemCommand":
      if (keeping) table.set(keyOf(input.Item), input.Item)
      return consumed
    default:
      return consumed
  }
}

const stubS3 = async (command: { constructor: { name: string }; input: any }): Promise<unknown> => {
  const input = command.input
  if (command.constructor.name === "GetObjectCommand") {
    const text = bucket.get(input.Key)
    if (text === undefined) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: {} })
    const bytes = Buffer.from(text)
    const Body = Object.assign(Readable.from([bytes]), { transformToString: async () => text })
    return { Body, ETag: '"0123456789abcdef"', ContentLength: bytes.byteLength, LastModified: new Date(0) }
  }
  return { ETag: '"0123456789abcdef"' }
}

DynamoDBClient.prototype.send = stubDynamoDB as never
S3Client.prototype.send = stubS3 as never

/** One build of `@docket/core` (its `dist/`), loaded from `dir`. */
interface Core {
  readonly Docket: typeof DocketModule
  readonly DocketConfig: typeof DocketConfigModule
  readonly DocumentCache: typeof DocumentCacheModule
  readonly FallbackReader: typeof FallbackReaderModule
}
const load = async (dir: string): Promise<Core> => {
  const at = (name: string) => import(pathToFileURL(join(dir, `${name}.js`)).href)
  return {
    Docket: await at("Docket"),
    DocketConfig: await at("DocketConfig"),
    DocumentCache: await at("DocumentCache"),
    FallbackReader: await at("FallbackReader"),
  }
}

const runtimeOf = (core: Core) => {
  const endpoint = "http://127.0.0.1:9"
  const credentials = { accessKeyId: "stub", secretAccessKey: "stub" }
  const settings = core.DocketConfig.make({
    table: "stub",
    bucket: "stub",
    region: "us-east-1",
    dynamodbEndpoint: Option.some(endpoint),
    s3Endpoint: Option.some(endpoint),
    ttlDays: 3650,
    rps: 1_000_000,
  })
  return ManagedRuntime.make(
    core.Docket.layer(settings, {
      dynamodbClient: { credentials },
      store: { clientConfig: { credentials } },
    }).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
  )
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const load1 = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")

const compare = async (name: string, rounds: number, n: number, runs: Record<string, () => Promise<unknown>>) => {
  const cpu: Record<string, Array<number>> = {}
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of Object.entries(runs)) {
      const start = process.cpuUsage()
      for (let i = 0; i < n; i++) await run()
      const used = process.cpuUsage(start)
      cpu[label] = [...(cpu[label] ?? []), ((used.user + used.system) / n) | 0]
    }
  }
  // Under load the rounds' spread is wide: the lower quartile and the minimum say more than the median.
  const quartile = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 4)]!
  process.stdout.write(
    `${name}: CPU us per operation, median / lower quartile / min of ${rounds} interleaved rounds of ${n} (load ${load1()})\n${Object.keys(
      runs,
    )
      .map((l) => `  ${l.padEnd(8)} ${median(cpu[l]!)} / ${quartile(cpu[l]!)} / ${Math.min(...cpu[l]!)}`)
      .join("\n")}\n`,
  )
}

const profiled = async (name: string, n: number, op: () => Promise<unknown>) => {
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  for (let i = 0; i < n; i++) await op()
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  const file = join(tmpdir(), `docket-${name}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  const { totalMs, modules, functions } = Summarize.summarize(profile as never)
  const rows = (entries: ReadonlyArray<Summarize.Entry>) =>
    entries
      .slice(0, 14)
      .map((e) => `  ${e.share.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}`)
      .join("\n")
  process.stdout.write(
    `${name}: ${file} (${totalMs} ms sampled, load ${load1()})\nby module:\n${rows(modules)}\nby function:\n${rows(functions)}\n`,
  )
}

const registry = DocumentKind.defaultRegistry
const future = (d: Document.AnyDocument): Document.AnyDocument =>
  (d.kind === "change"
    ? { ...d, schedule: { start: "2099-06-01T00:00:00Z", end: "2099-06-02T00:00:00Z" } }
    : { ...d, publishAt: "2099-06-01T00:00:00Z" }) as Document.AnyDocument
const s3KeyOf = (d: Document.AnyDocument) => S3Key.forDocument("", registry.get(d.kind)!, d.id)

/** `npm run profile -- stubbed-read [hit|miss] ...`. */
export const run = async (args: ReadonlyArray<string>) => {
  const what = args.find((a) => a === "hit" || a === "miss")
  const option = (name: string) => {
    const at = args.indexOf(name)
    return at >= 0 ? args[at + 1] : undefined
  }
  const rounds = Number(option("--rounds") ?? 9)
  const n = Number(option("--n") ?? 300)
  const beforeDir = option("--before")
  const current = dirname(fileURLToPath(import.meta.resolve("@docket/core/Docket")))
  const builds: Record<string, Core> = {}
  if (beforeDir !== undefined) builds.before = await load(resolve(beforeDir))
  builds.after = await load(current)
  const runtimes = Object.fromEntries(Object.entries(builds).map(([label, core]) => [label, runtimeOf(core)]))
  const target = {
    dynamodb: new DynamoDBClient({ region: "us-east-1" }),
    s3: new S3Client({ region: "us-east-1" }),
    table: "stub",
    bucket: "stub",
  }
  const readWith = (label: string, doc: Document.AnyDocument, expected: "cache" | "store") => {
    const core = builds[label]!
    return runtimes[label]!.runPromise(
      Effect.flatMap(core.FallbackReader.FallbackReader, (reader) =>
        Effect.flatMap(reader.read(doc.kind, doc.id), (result) =>
          Option.getOrUndefined(result)?.source !== expected
            ? Effect.dieMessage(`${doc.id}: expected a read from ${expected}`)
            : expected === "store"
              ? reader.awaitRefills
              : Effect.void,
        ),
      ),
    )
  }
  try {
    if (what !== "miss") {
      const hits = Corpus.generate({ count: 200, customers: 50, seed: 21 }).map(future)
      keeping = true
      if (args.includes("--old-layout")) {
        for (const doc of hits) {
          const items = Items.toItems(doc, registry, { s3Key: s3KeyOf(doc), retentionDays: 3650 })
          for (const item of [items.document, ...items.customers]) table.set(keyOf(item), item)
        }
      } else {
        const put = (doc: Document.AnyDocument) =>
          Effect.flatMap(builds.after!.DocumentCache.DocumentCache, (cache) => cache.put(doc, { s3Key: s3KeyOf(doc) }))
        for (const doc of hits) await runtimes.after!.runPromise(put(doc))
      }
      let i = 0
      const rawHit = ReadFloor.hit(target)
      const runs: Record<string, () => Promise<unknown>> = { raw: () => rawHit(hits[i++ % hits.length]!) }
      for (const label of Object.keys(builds)) runs[label] = () => readWith(label, hits[i++ % hits.length]!, "cache")
      for (const run of Object.values(runs)) for (let w = 0; w < 500; w++) await run()
      await compare(`read hit${args.includes("--old-layout") ? " (old item layout)" : ""}`, rounds, n, runs)
      if (args.includes("--profile")) await profiled("stubbed-read-hit", 4000, runs.after!)
    }
    if (what !== "hit") {
      const misses = Corpus.generate({ count: 400, customers: 50, seed: 22 }).map((d, k) =>
        future({ ...d, id: `${d.id.slice(0, 4)}miss-${k}` } as Document.AnyDocument),
      )
      for (const doc of misses) bucket.set(s3KeyOf(doc), JSON.stringify(doc))
      keeping = false
      let i = 0
      const floorMiss = ReadFloor.floorMiss(target)
      const runs: Record<string, () => Promise<unknown>> = { floor: () => floorMiss(misses[i++ % misses.length]!) }
      for (const label of Object.keys(builds))
        runs[label] = () => readWith(label, misses[i++ % misses.length]!, "store")
      for (const run of Object.values(runs)) for (let w = 0; w < 300; w++) await run()
      await compare("read miss + refill", rounds, n, runs)
      if (args.includes("--profile")) await profiled("stubbed-read-miss", 2000, runs.after!)
    }
  } finally {
    target.dynamodb.destroy()
    target.s3.destroy()
    for (const runtime of Object.values(runtimes)) await runtime.dispose()
  }
}
