/**
 * `event-sync` (`event-sync-vs-floor`, `event-sync-vs-powertools`): S3 event
 * records per second through Docket's bundled Lambda handler against
 * hand-written handlers bundled the same way, at the same concurrency (16
 * records in flight), on the same SQS-shaped events, in alternating rounds:
 * the careful raw floor with Docket's guarantees (fixtures/careful-handler.ts),
 * and, as a context row, a naive GetObject + conditional PutItem handler.
 *
 * Docket validates the document against its schema and writes the document
 * item and one item per customer in a transaction (the indexes), conditional
 * on the sequencer. CPU per record of the process is recorded beside the rates
 * (a context row), since under load the rates follow it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { bundle, packageDir } from "../../../lambda/scripts/package.mjs"
import * as Harness from "../Harness.js"
import * as SqsBatches from "../SqsBatches.js"

type Handler = (event: unknown, context: unknown) => Promise<unknown>

/**
 * CPU ms used so far by DynamoDB Local's JVM (the one listening on `port`), from
 * `/proc` (Linux; undefined elsewhere). The run is CPU-bound on the two processes
 * together, so the JVM's share of a record's CPU is recorded beside the Node process's.
 */
const jvmCpuMs = (port: string): number | undefined => {
  try {
    let ticks = 0
    let found = false
    for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
        if (!cmdline.some((a) => a.endsWith("DynamoDBLocal.jar")) || cmdline[cmdline.indexOf("-port") + 1] !== port)
          continue
        const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
        ticks += Number(fields[11]) + Number(fields[12])
        found = true
      } catch {
        // a process that ended meanwhile
      }
    }
    // USER_HZ is 100 on Linux.
    return found ? ticks * 10 : undefined
  } catch {
    return undefined
  }
}

const concurrency = 16
const batchSize = 100

const floorDescription =
  "S3 event records per second through the bundled Docket Lambda handler vs the careful raw floor (fixtures/careful-handler.ts: GetObject and the cache read overlapped, one guarded transaction), bundled the same way, both at 16 records in flight, SQS batches of 100, rounds interleaved; the naive GetObject + conditional PutItem handler is a context row."

const powertoolsDescription =
  "S3 event records per second through the bundled Docket Lambda handler vs a handler built the way the Powertools for AWS Lambda (TypeScript) 2.x docs recommend (fixtures/powertools-handler.ts), bundled the same way, SQS batches of 100, rounds interleaved."

const scenario: Harness.Scenario = {
  name: "event-sync",
  description: "S3 event sync records per second: Docket's bundled handler vs hand-written handlers.",
  produces: ["event-sync-vs-floor", "event-sync-vs-powertools"],
  run: async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), "docket-event-sync-"))
    const saved = { ...process.env }
    const write = process.stdout.write
    try {
      const docketFile = join(dir, "docket.mjs")
      const plainFile = join(dir, "plain.mjs")
      const carefulFile = join(dir, "careful.mjs")
      await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: docketFile })
      await bundle({
        entry: fileURLToPath(new URL("../fixtures/plain-handler.ts", import.meta.url)),
        outfile: plainFile,
      })
      await bundle({
        entry: fileURLToPath(new URL("../fixtures/careful-handler.ts", import.meta.url)),
        outfile: carefulFile,
      })
      const powertoolsFile = join(dir, "powertools.mjs")
      await bundle({
        entry: fileURLToPath(new URL("../fixtures/powertools-handler.ts", import.meta.url)),
        outfile: powertoolsFile,
      })
      const docketEnv = await ctx.isolated("event-sync")
      const plainTable = (await ctx.isolated("event-sync-raw")).table
      const carefulTable = (await ctx.isolated("event-sync-careful")).table
      const powertoolsTable = (await ctx.isolated("event-sync-powertools")).table
      // Four handlers, interleaved: 600 records x 5 rounds each (3 until 2026-12-04: a mean of three rounds
      // moved by ~10% with one fast or slow round) keeps the full run within a few minutes.
      const records = ctx.quick ? 300 : 600
      const rounds = ctx.quick ? 2 : 5
      const s3 = new S3Client({ ...docketEnv.clientConfig.s3 })
      const keys = Array.from({ length: records }, (_, i) => `changes/CHG-bench-${i}.json`)
      let next = 0
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (;;) {
            const i = next++
            if (i >= records) return
            await s3.send(
              new PutObjectCommand({
                Bucket: docketEnv.bucket,
                Key: keys[i],
                Body: JSON.stringify({
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
                }),
              }),
            )
          }
        }),
      )
      s3.destroy()

      Object.assign(process.env, docketEnv.environment, {
        DOCKET_LOG_LEVEL: "error",
        POWERTOOLS_LOG_LEVEL: "ERROR",
        POWERTOOLS_SERVICE_NAME: "docket-sync",
        DOCKET_EVENT_CONCURRENCY: String(concurrency),
      })
      const docket = ((await import(pathToFileURL(docketFile).href)) as { handler: Handler }).handler
      const plain = ((await import(pathToFileURL(plainFile).href)) as { handler: Handler }).handler
      const careful = ((await import(pathToFileURL(carefulFile).href)) as { handler: Handler }).handler
      const powertools = ((await import(pathToFileURL(powertoolsFile).href)) as { handler: Handler }).handler

      const makeBatches = SqsBatches.maker(docketEnv.bucket, batchSize)
      const batches = () => makeBatches(keys)
      const context = { awsRequestId: "bench", callbackWaitsForEmptyEventLoop: true }
      const names = new Map<Handler, string>([
        [docket, "docket"],
        [plain, "naive raw"],
        [careful, "careful raw"],
        [powertools, "powertools"],
      ])
      // CPU ms per record of this process (the handler, the SDK and the in-process S3 emulator alike):
      // less sensitive to the machine's load than records/s.
      const cpu = new Map<Handler, Array<number>>()
      const jvm = new Map<Handler, Array<number>>()
      const dynamoPort = new URL(docketEnv.clientConfig.dynamodb.endpoint).port
      const pass = async (handler: Handler, table: string) => {
        process.env.DOCKET_TABLE = table
        const events = batches()
        const start = performance.now()
        const jvmStart = jvmCpuMs(dynamoPort)
        const cpuStart = process.cpuUsage()
        for (const event of events) {
          const response = (await handler(event, context)) as { batchItemFailures?: ReadonlyArray<unknown> }
          const failed = response?.batchItemFailures?.length ?? 0
          if (failed > 0) throw new Error(`${failed} record(s) of a batch failed in the ${names.get(handler)} handler`)
        }
        const used = process.cpuUsage(cpuStart)
        cpu.set(handler, [...(cpu.get(handler) ?? []), (used.user + used.system) / 1000 / records])
        const jvmEnd = jvmCpuMs(dynamoPort)
        if (jvmStart !== undefined && jvmEnd !== undefined) {
          jvm.set(handler, [...(jvm.get(handler) ?? []), (jvmEnd - jvmStart) / records])
        }
        return (records / (performance.now() - start)) * 1000
      }
      // Docket's runtime reads DOCKET_TABLE once, on its first invocation.
      // The EMF metric lines both Docket and Powertools print per invocation are
      // formatted as in production but not written: stdout is silenced here.
      process.stdout.write = (() => true) as typeof process.stdout.write
      await pass(docket, docketEnv.table)
      await pass(plain, plainTable)
      await pass(careful, carefulTable)
      await pass(powertools, powertoolsTable)
      cpu.clear()
      jvm.clear()
      // Rounds alternate the handlers so that drift in the machine's load hits all alike.
      const samples = {
        raw: [] as Array<number>,
        careful: [] as Array<number>,
        powertools: [] as Array<number>,
        docket: [] as Array<number>,
      }
      // Each round starts at the next handler (raw, careful, Powertools, Docket, then careful first...), so
      // that no handler always runs first or last in a round.
      const passes: ReadonlyArray<() => Promise<void>> = [
        async () => void samples.raw.push(await pass(plain, plainTable)),
        async () => void samples.careful.push(await pass(careful, carefulTable)),
        async () => void samples.powertools.push(await pass(powertools, powertoolsTable)),
        async () => void samples.docket.push(await pass(docket, docketEnv.table)),
      ]
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < passes.length; i++) await passes[(r + i) % passes.length]!()
      }
      const rates = {
        baseline: Harness.stats(samples.raw),
        careful: Harness.stats(samples.careful),
        powertools: Harness.stats(samples.powertools),
        docket: Harness.stats(samples.docket),
      }
      process.stdout.write = write
      const ratioOf = (a: Harness.Stats, b: Harness.Stats) => Math.round((a.mean / b.mean) * 1000) / 1000
      const cpuOf = (handler: Handler) => Harness.stats(cpu.get(handler) ?? [])
      const cpuPerRecord = {
        docket: cpuOf(docket),
        careful: cpuOf(careful),
        powertools: cpuOf(powertools),
        naive: cpuOf(plain),
      }
      const jvmOf = (handler: Handler) => {
        const samples = jvm.get(handler) ?? []
        return samples.length === 0 ? undefined : Harness.stats(samples).mean
      }
      const jvmPerRecord = { docket: jvmOf(docket), careful: jvmOf(careful), powertools: jvmOf(powertools) }
      const ratio = ratioOf(rates.docket, rates.baseline)
      const carefulRatio = ratioOf(rates.docket, rates.careful)
      ctx.log(
        `records/s: docket ${rates.docket.mean.toFixed(0)}, raw ${rates.baseline.mean.toFixed(0)} (ratio ${ratio}), careful raw ${rates.careful.mean.toFixed(0)} (ratio ${carefulRatio}), Powertools ${rates.powertools.mean.toFixed(0)} (${records} records x ${rounds} rounds); CPU ms per record: docket ${cpuPerRecord.docket.mean.toFixed(2)}, careful ${cpuPerRecord.careful.mean.toFixed(2)}, Powertools ${cpuPerRecord.powertools.mean.toFixed(2)}, naive ${cpuPerRecord.naive.mean.toFixed(2)}; DynamoDB Local JVM: docket ${jvmPerRecord.docket?.toFixed(2) ?? "?"}, careful ${jvmPerRecord.careful?.toFixed(2) ?? "?"}, Powertools ${jvmPerRecord.powertools?.toFixed(2) ?? "?"}`,
      )
      const shape = { records, rounds, concurrency, batchSize }
      const floorResult: Harness.NamedResult = {
        name: "event-sync-vs-floor",
        description: floorDescription,
        baseline: { recordsPerSecond: rates.careful, ...shape },
        docket: { recordsPerSecond: rates.docket, ...shape },
        context: {
          naive: { recordsPerSecond: rates.baseline, docketRatio: ratio },
          cpuMsPerRecord: {
            what: "CPU ms of the benchmark process per record (handler, SDK and the in-process S3 emulator), mean over rounds",
            docket: cpuPerRecord.docket.mean,
            careful: cpuPerRecord.careful.mean,
            powertools: cpuPerRecord.powertools.mean,
            naive: cpuPerRecord.naive.mean,
            docketRatio: Math.round((cpuPerRecord.docket.mean / cpuPerRecord.careful.mean) * 1000) / 1000,
          },
          ...(jvmPerRecord.docket !== undefined && jvmPerRecord.careful !== undefined
            ? {
                dynamodbLocalCpuMsPerRecord: {
                  what: "CPU ms of DynamoDB Local's JVM per record (/proc), mean over rounds: the run is CPU-bound on it and the Node process together",
                  ...jvmPerRecord,
                  totalDocketRatio:
                    Math.round(
                      ((cpuPerRecord.docket.mean + jvmPerRecord.docket) /
                        (cpuPerRecord.careful.mean + jvmPerRecord.careful)) *
                        1000,
                    ) / 1000,
                },
              }
            : {}),
        },
        ratio: carefulRatio,
        target: 0.95,
        direction: ">=",
        criterion: "records/s, Docket's handler / the careful raw floor",
        notes: `The floor (fixtures/careful-handler.ts): the hand-written floor of a convergent sync with Docket's guarantees = GetObject and a consistent GetItem in parallel, then one rev- and sequencer-guarded TransactWriteItems (document item + one item per customer + deletes of customers that left). Context row, naive raw = GetObject + one conditional PutItem per record (no prior read, one item, stale customer items never removed): docket/naive = ${ratio}. Docket makes the same three calls in the same two round trips (GetObject and DocumentCache.snapshot's consistent GetItem in parallel, then TransactWriteItems decided on that snapshot), plus schema decode of the body and of the cached item, retries, logs and metrics. CPU ms per record of the benchmark process (context row cpuMsPerRecord: Docket ${cpuPerRecord.docket.mean}, careful ${cpuPerRecord.careful.mean}, Powertools ${cpuPerRecord.powertools.mean}): the run is CPU-bound on the Node process and DynamoDB Local's JVM together (2 cores; context row dynamodbLocalCpuMsPerRecord: their sum per record, Docket / floor, is close to the inverse of the ratio when the machine is otherwise idle), and under other load the emulators' latency dominates and the ratio rises. Rates are means over ${rounds} rounds, each starting at the next handler (no fixed order); each round re-syncs every object with newer sequencers.`,
      }
      const powertoolsRatio = ratioOf(rates.docket, rates.powertools)
      const powertoolsResult: Harness.NamedResult = {
        name: "event-sync-vs-powertools",
        description: powertoolsDescription,
        baseline: {
          library: "Powertools for AWS Lambda (TypeScript) 2.x",
          recordsPerSecond: rates.powertools,
          ...shape,
        },
        docket: { recordsPerSecond: rates.docket, ...shape },
        ratio: powertoolsRatio,
        target: 1,
        direction: ">=",
        criterion: "records/s, Docket's handler / the Powertools handler",
        notes:
          "The Powertools handler (fixtures/powertools-handler.ts) as its docs recommend: BatchProcessor(EventType.SQS) with the parser integration (S3Schema as innerSchema, JSON transformer) and processPartialResponse, which runs a batch's records all in parallel by default (Docket: 16 in flight); Logger at ERROR (Docket's handler at error too) and Metrics flushed as EMF per invocation; per record the careful floor's convergence (GetObject and a consistent GetItem in parallel, a Zod-validated body, one rev- and sequencer-guarded TransactWriteItems) with the SDK's default retries. Bundled with the same esbuild settings as Docket's handler.",
      }
      return [floorResult, powertoolsResult]
    } finally {
      process.stdout.write = write
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
      Object.assign(process.env, saved)
      rmSync(dir, { recursive: true, force: true })
    }
  },
}

export default scenario
