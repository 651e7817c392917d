/**
 * Docket's own cost per operation, without I/O: the SDK clients of Docket and of the raw
 * baselines get a canned `requestHandler` (the SDK serialises, signs and parses as usual;
 * the handler answers at once from a tiny in-memory table and bucket, the same for both), so
 * what is left is CPU, allocation and the time from the last answer to the caller's resume.
 *
 *   npm run profile -- canned [write|hit] [--rounds N] [--n N] [--heap] [--cpu]
 *
 * Per operation, medians of interleaved rounds: CPU (`process.cpuUsage`) and `tail`, the time
 * from the handler's last answer to the awaited promise (the SDK parsing that answer, then
 * whatever the caller runs after it). With `--heap`, V8's sampling heap profiler then counts the
 * bytes allocated per operation, by package and by allocating function (collected objects included).
 * With `--cpu`, V8's CPU profiler records `n` operations of each (`canned-*.cpuprofile` in the
 * system's temporary directory) and prints the top self-time modules and functions. A write also
 * prints its fiber steps: the effects the runtime evaluates per write (`Supervisor.onEffect`).
 */
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Supervisor from "effect/Supervisor"
import * as Corpus from "../Corpus.js"
import * as ReadFloor from "../fixtures/read-floor.js"
import * as WriteFloor from "../fixtures/write-floor.js"
import * as Harness from "../Harness.js"
import * as Summarize from "./summarize.js"

type Item = Record<string, { S?: string; N?: string }>
interface Request {
  readonly method: string
  readonly hostname: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: unknown
}

/** The time of the handler's last answer. */
let lastAnswer = 0
/** When the canned handler last answered (`performance.now()`). */
export const lastAnswerAt = () => lastAnswer
const table = new Map<string, Item>()
const bucket = new Map<string, Uint8Array>()
const bytesOf = (body: unknown): Uint8Array =>
  body === undefined
    ? new Uint8Array()
    : typeof body === "string"
      ? Buffer.from(body)
      : body instanceof Uint8Array
        ? body
        : Buffer.from(String(body))

const answer = (statusCode: number, headers: Record<string, string>, body: Uint8Array = new Uint8Array()) => {
  lastAnswer = performance.now()
  return Promise.resolve({ response: { statusCode, reason: "OK", headers, body } })
}
const json = (value: unknown) =>
  answer(200, { "content-type": "application/x-amz-json-1.0" }, Buffer.from(JSON.stringify(value)))
const keyOf = (item: Item) => `${item.pk?.S}|${item.sk?.S}`

/** A canned `requestHandler`: DynamoDB's UpdateItem, GetItem, TransactWriteItems; S3's PUT and GET. */
export const handler = {
  metadata: { handlerProtocol: "h1" },
  destroy: () => {},
  updateHttpClientConfig: () => {},
  httpHandlerConfigs: () => ({}),
  handle: (request: Request) => {
    const target = request.headers["x-amz-target"]
    if (target !== undefined) {
      const input = JSON.parse(String(bytesOf(request.body).toString())) as Record<string, any>
      if (target.endsWith("UpdateItem")) return json({})
      if (target.endsWith("GetItem")) {
        const item = table.get(keyOf(input.Key))
        return json(item === undefined ? {} : { Item: item })
      }
      if (target.endsWith("TransactWriteItems")) {
        for (const t of input.TransactItems as Array<{ Put?: { Item: Item } }>) {
          if (t.Put !== undefined) table.set(keyOf(t.Put.Item), t.Put.Item)
        }
        return json({})
      }
      return json({})
    }
    if (request.method === "PUT") {
      const body = bytesOf(request.body)
      bucket.set(request.path, body)
      return answer(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` })
    }
    return answer(404, {})
  },
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Runs `runs` in interleaved rounds of `n`, printing per-operation medians. */
const compare = async (name: string, rounds: number, n: number, runs: Record<string, () => Promise<unknown>>) => {
  const cpu: Record<string, Array<number>> = {}
  const tail: Record<string, Array<number>> = {}
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of Object.entries(runs)) {
      const start = process.cpuUsage()
      const tails: Array<number> = []
      for (let i = 0; i < n; i++) {
        await run()
        tails.push(performance.now() - lastAnswer)
      }
      const used = process.cpuUsage(start)
      cpu[label] = [...(cpu[label] ?? []), (used.user + used.system) / 1000 / n]
      tail[label] = [...(tail[label] ?? []), median(tails)]
    }
  }
  const row = (label: string) =>
    `  ${label.padEnd(8)} CPU ${median(cpu[label]!).toFixed(3)} ms  tail ${(median(tail[label]!) * 1000).toFixed(0)} us`
  process.stdout.write(
    `${name}: per operation, medians of ${rounds} interleaved rounds of ${n} (load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")})\n${Object.keys(runs).map(row).join("\n")}\n`,
  )
}

interface SampleNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<SampleNode>
}

/**
 * Bytes allocated by `n` calls of `op`, by allocating function (V8's sampling heap profiler, objects
 * a scavenge or a full GC collected included): the top `top` sites, in KB per operation.
 */
const allocationSites = async (name: string, n: number, op: () => Promise<unknown>, top = 25) => {
  const session = new Session()
  session.connect()
  await session.post("HeapProfiler.enable")
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
  for (let i = 0; i < n; i++) await op()
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: SampleNode } }
  session.disconnect()
  const bySite = new Map<string, number>()
  const ours = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let total = 0
  const walk = (node: SampleNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^.*node_modules\//, "").replace(/^.*\/packages\//, "")
    const site = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    const pkg = file.startsWith("@") ? file.split("/").slice(0, 2).join("/") : (file.split("/")[0] ?? "")
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize)
    if (pkg === "effect" || pkg === "core") ours.set(site, (ours.get(site) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  const rows = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([site, bytes]) => `  ${(bytes / 1024 / n).toFixed(2).padStart(7)} KB  ${site}`)
      .join("\n")
  process.stdout.write(
    `${name}: ${(total / 1024 / n).toFixed(1)} KB allocated per operation (sampled), by package:\n${rows(byPackage, 10)}\nby site:\n${rows(bySite, top)}\neffect and @docket/core by site:\n${rows(ours, top)}\n`,
  )
}

/** V8's CPU profile of `n` calls of `op`, written to the temporary directory; prints its top entries. */
const cpuProfile = async (name: string, n: number, op: () => Promise<unknown>, top = 15) => {
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  for (let i = 0; i < n; i++) await op()
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  const file = join(tmpdir(), `canned-${name.replace(/\W+/g, "-")}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  const { totalMs, modules, functions } = Summarize.summarize(profile as never)
  const rows = (entries: ReadonlyArray<Summarize.Entry>) =>
    entries
      .slice(0, top)
      .map((e) => `  ${e.share.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}`)
      .join("\n")
  process.stdout.write(
    `${name}: ${file} (${totalMs} ms sampled)\nby module:\n${rows(modules)}\nby function:\n${rows(functions)}\n`,
  )
}

/** Counts the effects the fiber runtime evaluates (`onEffect`, under `OpSupervision`). */
class StepCounter extends Supervisor.AbstractSupervisor<void> {
  steps = 0
  get value() {
    return Effect.void
  }
  override onEffect() {
    this.steps++
  }
}

/** `npm run profile -- canned [write|hit] [--heap] [--cpu]`. */
export const run = async (args: ReadonlyArray<string>) => {
  const what = args.find((a) => a === "write" || a === "hit")
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name)
    return at >= 0 ? Number(args[at + 1]) : fallback
  }
  const heap = args.includes("--heap")
  const cpu = args.includes("--cpu")
  const rounds = option("--rounds", 7)
  const n = option("--n", 200)
  const endpoint = "http://127.0.0.1:9"
  const credentials = { accessKeyId: "canned", secretAccessKey: "canned" }
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
  const config = { region: "us-east-1", endpoint, credentials, requestHandler: handler as never, maxAttempts: 1 }
  const target = {
    dynamodb: new DynamoDBClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    table: "canned",
    bucket: "canned",
  }
  const docs = Corpus.generate({ count: 1000, customers: 50, seed: 5 })
  let next = 0
  const fresh = (): Document.AnyDocument => {
    const doc = docs[next++ % docs.length]!
    return { ...doc, id: `${doc.id.slice(0, 4)}can-${next}` } as Document.AnyDocument
  }
  const floor = WriteFloor.floor(target)
  const docket = (doc: Document.AnyDocument) => runtime.runPromise(WriteThrough.write(doc))
  try {
    if (what !== "hit") {
      for (let i = 0; i < 300; i++) await docket(fresh())
      for (let i = 0; i < 300; i++) await floor(fresh())
      await compare("write", rounds, n, { docket: () => docket(fresh()), floor: () => floor(fresh()) })
      const counter = new StepCounter()
      for (let i = 0; i < 20; i++) {
        await runtime.runPromise(
          WriteThrough.write(fresh()).pipe(
            Effect.supervised(counter),
            Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)),
          ),
        )
      }
      process.stdout.write(`write: ${(counter.steps / 20).toFixed(0)} fiber steps per write\n`)
      if (cpu) {
        await cpuProfile("write, docket", n * 2, () => docket(fresh()))
        await cpuProfile("write, floor", n * 2, () => floor(fresh()), 10)
      }
      if (heap) {
        await allocationSites("write, docket", n, () => docket(fresh()))
        await allocationSites("write, floor", n, () => floor(fresh()), 10)
      }
    }
    if (what !== "write") {
      // 200 documents written by Docket, read back: hits.
      const cached = Array.from({ length: 200 }, fresh)
      for (const doc of cached) await docket(doc)
      let i = 0
      const rawHit = ReadFloor.hit(target)
      const hit = () => {
        const doc = cached[i++ % cached.length]!
        return runtime.runPromise(
          Effect.flatMap(FallbackReader.read(doc.kind, doc.id), (result) =>
            Option.getOrUndefined(result)?.source === "cache" ? Effect.void : Effect.dieMessage("not a hit"),
          ),
        )
      }
      const raw = () => rawHit(cached[i++ % cached.length]!)
      for (let w = 0; w < 300; w++) await hit()
      for (let w = 0; w < 300; w++) await raw()
      await compare("read hit", rounds, n, { docket: hit, raw })
      const counter = new StepCounter()
      for (let h = 0; h < 20; h++) {
        const doc = cached[h]!
        await runtime.runPromise(
          FallbackReader.read(doc.kind, doc.id).pipe(
            Effect.supervised(counter),
            Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)),
          ),
        )
      }
      process.stdout.write(`read hit: ${(counter.steps / 20).toFixed(0)} fiber steps per hit\n`)
      if (cpu) {
        await cpuProfile("read hit, docket", n * 2, hit)
        await cpuProfile("read hit, raw", n * 2, raw, 10)
      }
      if (heap) {
        await allocationSites("read hit, docket", n, hit)
        await allocationSites("read hit, raw", n, raw, 10)
      }
    }
  } finally {
    target.dynamodb.destroy()
    target.s3.destroy()
    await runtime.dispose()
  }
}
