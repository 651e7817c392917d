/**
 * Event sync's CPU per record without the emulators: Docket's bundled Lambda handler, the careful
 * raw floor (fixtures/careful-handler.ts) and the Powertools handler (fixtures/powertools-handler.ts),
 * bundled as the `event-sync` scenario bundles them, on the scenario's SQS batches, against one
 * in-process HTTP server that answers GetObject, GetItem and TransactWriteItems at once from memory
 * (the same answers for all: each handler still pays its SDK, HTTP client and its own code).
 *
 *   npm run profile -- canned-sync [--rounds N] [--records N] [--before FILE.mjs] [--cpu-prof]
 *
 * Prints CPU ms per record of this process (`process.cpuUsage`, the server's share included, the
 * same for every handler), medians of interleaved rounds. `--before FILE.mjs`: a Docket handler
 * bundled at another commit, measured in the same rounds (paired before/after). `--cpu-prof`: then CPU
 * profiles of Docket's handler and the careful floor (unminified bundles) over the same passes: self
 * time by module in ms per record, side by side, and each one's top functions.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Session } from "node:inspector/promises"
import type { AddressInfo } from "node:net"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundle, packageDir } from "../../../lambda/scripts/package.mjs"
import * as SqsBatches from "../SqsBatches.js"
import * as Summarize from "./summarize.js"

type Handler = (event: unknown, context: unknown) => Promise<unknown>
type Item = Record<string, { readonly S?: string }>

const bucket = "canned"
const batchSize = 100

/** The document of key `i`, as the scenario writes it. */
const body = (i: number) =>
  JSON.stringify({
    kind: "change",
    id: `CHG-bench-${i}`,
    version: 1,
    title: `Benchmark change ${i}`,
    description: "x".repeat(600),
    customers: ["acme", "globex"],
    status: "approved",
    schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
    createdAt: "2026-11-01T10:00:00Z",
    updatedAt: "2026-11-01T10:00:00Z",
  })

/** Table name, pk and sk: one map for every handler's table. */
const items = new Map<string, Item>()
const itemKey = (table: string, key: Item) => `${table}|${key.pk?.S}|${key.sk?.S}`

const dynamodb = (target: string, input: Record<string, any>, res: ServerResponse) => {
  let out: unknown = {}
  if (target.endsWith(".GetItem")) {
    const item = items.get(itemKey(input.TableName, input.Key))
    out = item === undefined ? {} : { Item: item }
  } else if (target.endsWith(".TransactWriteItems")) {
    for (const t of input.TransactItems as Array<Record<string, any>>) {
      if (t.Put !== undefined) items.set(itemKey(t.Put.TableName, t.Put.Item), t.Put.Item)
      if (t.Delete !== undefined) items.delete(itemKey(t.Delete.TableName, t.Delete.Key))
    }
  }
  const text = JSON.stringify(out)
  const op = `${target.split(".").at(-1)} answer bytes`
  served.set(op, (served.get(op) ?? 0) + text.length)
  res.writeHead(200, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": "canned",
  })
  res.end(text)
}

const objects = new Map<string, string>()

const s3 = (req: IncomingMessage, res: ServerResponse) => {
  const key = decodeURIComponent((req.url ?? "").split("?")[0]!.slice(bucket.length + 2))
  const text = objects.get(key)
  if (req.method !== "GET" || text === undefined) {
    const error = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>absent</Message></Error>`
    res.writeHead(404, { "content-type": "application/xml", "content-length": Buffer.byteLength(error) })
    res.end(error)
    return
  }
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    etag: `"${key.length.toString(16).padStart(32, "0")}"`,
    "last-modified": "Tue, 01 Dec 2026 10:00:00 GMT",
    "x-amz-request-id": "canned",
  })
  res.end(text)
}

/** Requests the server answered, by operation (DynamoDB's target, S3's method): what each handler sends. */
const served = new Map<string, number>()

const server = createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    const target = req.headers["x-amz-target"]
    const operation = typeof target === "string" ? (target.split(".").at(-1) ?? target) : `S3 ${req.method}`
    served.set(operation, (served.get(operation) ?? 0) + 1)
    const bytes = chunks.reduce((n, c) => n + c.byteLength, 0)
    if (bytes > 0) served.set(`${operation} bytes`, (served.get(`${operation} bytes`) ?? 0) + bytes)
    if (typeof target === "string") dynamodb(target, JSON.parse(Buffer.concat(chunks).toString("utf8")), res)
    else s3(req, res)
  })
})

/** The scenario's SQS batches over `keys`, each record with a fresh (higher) sequencer. */
const batches = SqsBatches.maker(bucket, batchSize)

/** Where a line of the unminified bundles in `dir` came from: esbuild's `// path` markers. */
const locator = (dir: string) => {
  const markersOf = new Map<string, Array<{ line: number; source: string }>>()
  const locate = (url: string, line: number): string | undefined => {
    const file = url.startsWith("file://") ? fileURLToPath(url) : url
    if (!file.startsWith(dir)) return undefined
    let markers = markersOf.get(file)
    if (markers === undefined) {
      markers = []
      for (const [at, text] of readFileSync(file, "utf8").split("\n").entries()) {
        const m = /^\/\/ (\S+\.(?:js|ts|mjs|cjs))$/.exec(text)
        if (m !== null) markers.push({ line: at, source: m[1]! })
      }
      markersOf.set(file, markers)
    }
    let found: string | undefined
    for (const m of markers) {
      if (m.line > line) break
      found = m.source
    }
    return found === undefined
      ? "(bundle prelude)"
      : Summarize.moduleOf({ functionName: "", url: `/${found}`, lineNumber: 0 })
  }
  return locate
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** `npm run profile -- canned-sync [--rounds N] [--records N] [--before FILE.mjs] [--cpu-prof]`. */
export const run = async (args: ReadonlyArray<string>) => {
  const option = (name: string) => {
    const at = args.indexOf(name)
    return at >= 0 ? args[at + 1] : undefined
  }
  const rounds = Number(option("--rounds") ?? 7)
  const records = Number(option("--records") ?? 300)
  const before = option("--before")
  const dir = mkdtempSync(join(tmpdir(), "docket-canned-sync-"))
  const write = process.stdout.write
  const saved = { ...process.env }
  // Idle keep-alive sockets must outlive the gaps between passes (the clients reuse them).
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  try {
    const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
    const files = {
      docket: join(dir, "docket.mjs"),
      careful: join(dir, "careful.mjs"),
      powertools: join(dir, "powertools.mjs"),
    }
    await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: files.docket })
    await bundle({ entry: fixture("careful-handler.ts"), outfile: files.careful })
    await bundle({ entry: fixture("powertools-handler.ts"), outfile: files.powertools })
    const unminified = { docket: join(dir, "profiled", "docket.mjs"), careful: join(dir, "profiled", "careful.mjs") }
    if (args.includes("--cpu-prof")) {
      await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: unminified.docket, minify: false })
      await bundle({ entry: fixture("careful-handler.ts"), outfile: unminified.careful, minify: false })
    }
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const keys = Array.from({ length: records }, (_, i) => `changes/CHG-bench-${i}.json`)
    for (const [i, key] of keys.entries()) objects.set(key, body(i))
    Object.assign(process.env, {
      DOCKET_BUCKET: bucket,
      AWS_REGION: "us-east-1",
      DOCKET_DYNAMODB_ENDPOINT: endpoint,
      DOCKET_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: "canned",
      AWS_SECRET_ACCESS_KEY: "canned",
      DOCKET_LOG_LEVEL: "error",
      POWERTOOLS_LOG_LEVEL: "ERROR",
      POWERTOOLS_SERVICE_NAME: "docket-sync",
      DOCKET_EVENT_CONCURRENCY: "16",
    })
    const load = async (file: string) => ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler
    const handlers: Record<string, { handler: Handler; table: string }> = {
      docket: { handler: await load(files.docket), table: "docket" },
      ...(before !== undefined ? { before: { handler: await load(resolve(before)), table: "before" } } : {}),
      careful: { handler: await load(files.careful), table: "careful" },
      powertools: { handler: await load(files.powertools), table: "powertools" },
    }
    const context = { awsRequestId: "canned", callbackWaitsForEmptyEventLoop: true }
    const requestsOf: Record<string, Record<string, number>> = {}
    const pass = async (label: string, handler: Handler, table: string) => {
      served.clear()
      // Docket's runtimes read DOCKET_TABLE once, on their first invocation.
      process.env.DOCKET_TABLE = table
      const events = batches(keys)
      const cpu = process.cpuUsage()
      for (const event of events) {
        const response = (await handler(event, context)) as { batchItemFailures?: ReadonlyArray<unknown> }
        const failed = response?.batchItemFailures?.length ?? 0
        if (failed > 0) throw new Error(`${failed} record(s) of a batch failed in the ${label} handler`)
      }
      const used = process.cpuUsage(cpu)
      requestsOf[label] = Object.fromEntries([...served].map(([op, n]) => [op, Math.round((n / records) * 100) / 100]))
      return (used.user + used.system) / 1000 / records
    }
    // EMF lines are formatted as in production, not written (as in the scenario).
    process.stdout.write = (() => true) as typeof process.stdout.write
    for (let w = 0; w < 3; w++) for (const [label, h] of Object.entries(handlers)) await pass(label, h.handler, h.table)
    const cpu: Record<string, Array<number>> = {}
    for (let r = 0; r < rounds; r++) {
      for (const [label, h] of Object.entries(handlers)) {
        cpu[label] = [...(cpu[label] ?? []), await pass(label, h.handler, h.table)]
      }
    }
    process.stdout.write = write
    const floor = median(cpu.careful!)
    process.stdout.write(
      `canned-sync: CPU ms per record in this process (handler, SDK, HTTP client and the canned server), medians of ${rounds} interleaved rounds of ${records} records (load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}):\n${Object.entries(cpu)
        .map(
          ([label, xs]) =>
            `  ${label.padEnd(10)} ${median(xs).toFixed(3)} ms  [${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}]  / careful ${(median(xs) / floor).toFixed(2)}`,
        )
        .join("\n")}\nrequests per record (last round): ${Object.entries(requestsOf)
        .map(([label, ops]) => `${label} ${JSON.stringify(ops)}`)
        .join("; ")}\n`,
    )
    if (args.includes("--cpu-prof")) {
      // Each handler's self time by module, in ms per record: where Docket's extra CPU goes.
      const perRecord: Record<string, Map<string, number>> = {}
      for (const [label, file] of Object.entries(unminified)) {
        const profiled = await load(file)
        process.stdout.write = (() => true) as typeof process.stdout.write
        for (let w = 0; w < 3; w++) await pass(label, profiled, `profiled-${label}`)
        const session = new Session()
        session.connect()
        await session.post("Profiler.enable")
        await session.post("Profiler.setSamplingInterval", { interval: 200 })
        await session.post("Profiler.start")
        for (let r = 0; r < rounds; r++) await pass(label, profiled, `profiled-${label}`)
        const { profile } = await session.post("Profiler.stop")
        session.disconnect()
        process.stdout.write = write
        const out = join(tmpdir(), `canned-sync-${label}.cpuprofile`)
        writeFileSync(out, JSON.stringify(profile))
        const { modules, functions } = Summarize.summarize(profile as never, locator(join(dir, "profiled")))
        perRecord[label] = new Map(modules.map((e) => [e.name, e.selfMs / (rounds * records)]))
        process.stdout.write(
          `${label} (unminified, ${out}), top functions, ms per record:\n${functions
            .slice(0, 15)
            .map((e) => `  ${(e.selfMs / (rounds * records)).toFixed(3).padStart(7)}  ${e.name}`)
            .join("\n")}\n`,
        )
      }
      const docket = perRecord.docket!
      const careful = perRecord.careful!
      const names = [...new Set([...docket.keys(), ...careful.keys()])]
      const diff = (name: string) => (docket.get(name) ?? 0) - (careful.get(name) ?? 0)
      process.stdout.write(
        `self time by module, ms per record (profiler on): docket, careful, difference\n${names
          .sort((x, y) => diff(y) - diff(x))
          .slice(0, 30)
          .map(
            (name) =>
              `  ${(docket.get(name) ?? 0).toFixed(3).padStart(7)} ${(careful.get(name) ?? 0).toFixed(3).padStart(7)} ${diff(name).toFixed(3).padStart(7)}  ${name}`,
          )
          .join("\n")}\n  ${[...docket.values()]
          .reduce((a, b) => a + b, 0)
          .toFixed(3)
          .padStart(7)} ${[...careful.values()]
          .reduce((a, b) => a + b, 0)
          .toFixed(3)
          .padStart(7)}  total\n`,
      )
    }
  } finally {
    process.stdout.write = write
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
    Object.assign(process.env, saved)
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
  // The handlers' runtimes may hold timers (the rate limiter's refill): end once the output is out.
  setTimeout(() => process.exit(), 200).unref()
}
