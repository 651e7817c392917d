/**
 * Memory of backfill and reconcile at scale:
 * `node --conditions=@docket/source --import tsx packages/bench/src/rss.ts [N]`
 * (default 100,000). Starts the local stack, puts N documents into the bucket and
 * their items (with the objects' ETags) into the table, then runs an unchanged
 * backfill re-run and a clean reconcile, each in **its own child process** (the
 * S3 emulator runs in this process and holds every object in memory, so only a
 * separate process measures Docket alone). The child reports its peak RSS
 * (`VmHWM` in `/proc/self/status`, the kernel's high-water mark of its own
 * memory; `resourceUsage().maxRSS` would carry the parent's over fork and exec)
 * and an RSS sampled every 100 ms; a counting proxy in front of both emulators counts the
 * requests of each run. The child runs through tsx, so its figure includes the
 * TypeScript loader (an upper bound of what the bundled CLI uses). Each run goes
 * first under the heap limit `docket backfill`/`reconcile` run with (bin/heap.mjs),
 * then under Node's default heap (`RSS_DEFAULT_HEAP=off` skips it). `RSS_RUNS=reconcile`
 * runs only the reconcile, `RSS_SEGMENTS=4,16,32` runs it once per segment count on the
 * same loaded bucket and table.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from "@aws-sdk/client-dynamodb"
import { paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import type * as Docket from "@docket/core/Docket"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Reconcile from "@docket/core/Reconcile"
import * as CountingProxy from "@docket/local/CountingProxy"
import * as LocalStack from "@docket/local/LocalStack"
import * as Effect from "effect/Effect"
import * as Heap from "../../cli/bin/heap.mjs"
import * as Corpus from "./Corpus.js"
import * as Harness from "./Harness.js"

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

/** This process's peak resident memory since it started (exec), from `/proc/self/status`. */
const vmHwmMB = (): number | undefined => {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024)
  } catch {
    return undefined // not Linux
  }
}

/** What the parent hands the child: where to run, and what. */
interface Job {
  readonly run: "backfill-rerun" | "reconcile"
  readonly table: string
  readonly bucket: string
  readonly endpoints: LocalStack.Endpoints
  /** The reconcile's Scan segments (default `Reconcile.defaultSegments`). */
  readonly segments?: number
}

/** The child: runs one job, then prints its figures as one JSON line on stdout. */
const child = async (job: Job) => {
  let peak = process.memoryUsage().rss
  let heapPeak = process.memoryUsage().heapUsed
  const timer = setInterval(() => {
    const usage = process.memoryUsage()
    peak = Math.max(peak, usage.rss)
    heapPeak = Math.max(heapPeak, usage.heapUsed)
  }, 100)
  const layer = Harness.docketLayer(job, job.endpoints)
  const run = <A, E>(self: Effect.Effect<A, E, Docket.Services>) =>
    Effect.runPromise(self.pipe(Effect.provide(layer), Effect.provide(Harness.silentJsonLogger)))
  const started = performance.now()
  const result =
    job.run === "backfill-rerun"
      ? await run(Backfill.run({ concurrency: 16 })).then((r) => ({
          listed: r.listed,
          unchanged: r.unchanged,
          written: r.written,
          bodiesRead: r.bodiesRead,
        }))
      : await run(Reconcile.run(job.segments === undefined ? {} : { segments: job.segments })).then((r) => ({
          documents: r.documents,
          compared: r.compared,
          bodiesRead: r.bodiesRead,
          drift: r.counts,
        }))
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  process.stdout.write(
    `${JSON.stringify({
      seconds: Math.round((performance.now() - started) / 100) / 10,
      // The kernel's high-water mark of this process's own memory (VmHWM). Not `resourceUsage().maxRSS`:
      // Linux keeps that across fork and exec, so a child's starts at its parent's RSS (the parent holds
      // the S3 emulator's objects: 659 MB reported for a re-run whose own peak was 255 MB).
      peakRssMB: vmHwmMB(),
      sampledPeakRssMB: mb(peak),
      heapUsedPeakMB: mb(heapPeak),
      result,
    })}\n`,
  )
}

/** Runs `job` in a child process with this process's loader flags; resolves to its JSON line. */
const inChild = (job: Job, flags: ReadonlyArray<string>): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [...process.execArgv, ...flags, fileURLToPath(import.meta.url), "--child", JSON.stringify(job)],
      { stdio: ["ignore", "pipe", "inherit"] },
    )
    let out = ""
    proc.stdout.on("data", (chunk) => {
      out += chunk
    })
    proc.on("error", reject)
    proc.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? ""
      if (code !== 0) reject(new Error(`${job.run} child exited with ${code}: ${out}`))
      else resolve(JSON.parse(line) as Record<string, unknown>)
    })
  })

const main = async (count: number) => {
  const stack = await LocalStack.start()
  try {
    const iso = await LocalStack.isolate(stack, "rss", "bench")
    const documents = Corpus.generate({ count, customers: 50, seed: 5 })
    await Corpus.loadBucket(iso.clientConfig, iso.bucket, documents, { concurrency: 64 })
    // The cache as a finished backfill leaves it: every item with its object's ETag.
    const s3 = new S3Client({ ...iso.clientConfig.s3 })
    const etags = new Map<string, string>()
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: iso.bucket })) {
      for (const o of page.Contents ?? []) etags.set(o.Key as string, o.ETag as string)
    }
    s3.destroy()
    const registry = DocumentKind.defaultRegistry
    const byId = new Map<string, (typeof documents)[number]>(documents.map((d) => [d.id, d]))
    const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 5 })
    const keys = [...etags.keys()]
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const slice = keys.slice(next, next + 8)
          next += 8
          if (slice.length === 0) return
          const requests: Array<WriteRequest> = slice.flatMap((key) => {
            const id = key.replace(/^.*\//, "").replace(/\.json$/, "")
            const doc = byId.get(id) as (typeof documents)[number]
            const items = Items.toItems(doc, registry, {
              s3Key: key,
              retentionDays: 3650,
              etag: etags.get(key) as string,
            })
            return [items.document, ...items.customers].map((Item) => ({ PutRequest: { Item } }))
          })
          for (let i = 0; i < requests.length; i += 25) {
            let pending = requests.slice(i, i + 25)
            for (let attempt = 0; pending.length > 0; attempt++) {
              if (attempt >= 50) throw new Error("BatchWriteItem: items still unprocessed after 50 attempts")
              const out = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [iso.table]: pending } }))
              pending = out.UnprocessedItems?.[iso.table] ?? []
            }
          }
        }
      }),
    )
    dynamodb.destroy()
    const proxied = await CountingProxy.around(stack)
    // Each run with the heap limit the `docket` binary gives backfill and reconcile (bin/heap.mjs), with
    // Node's default heap (the library embedded in a process that sets none), then, with RSS_CHILD_FLAGS
    // (e.g. "--max-old-space-size=96"), with those flags: finishing under a small cap shows what the run
    // holds, as opposed to garbage V8 has not collected yet because nothing asked it to.
    const variants = [
      [...Heap.bulkFlags],
      ...(process.env.RSS_DEFAULT_HEAP === "off" ? [] : [[]]),
      ...(process.env.RSS_CHILD_FLAGS ? [process.env.RSS_CHILD_FLAGS.split(" ")] : []),
    ]
    // RSS_RUNS=reconcile skips the re-run; RSS_SEGMENTS=4,16,32 runs the reconcile once per segment count.
    const runs = (process.env.RSS_RUNS ?? "backfill-rerun,reconcile").split(",") as Array<Job["run"]>
    const segmentCounts = (process.env.RSS_SEGMENTS ?? "")
      .split(",")
      .filter((s) => s !== "")
      .map(Number)
    const jobs = runs.flatMap(
      (run): Array<Pick<Job, "run" | "segments">> =>
        run === "reconcile" && segmentCounts.length > 0
          ? segmentCounts.map((segments) => ({ run, segments }))
          : [{ run }],
    )
    for (const flags of variants) {
      for (const { run, segments } of jobs) {
        proxied.reset()
        const job = {
          run,
          table: iso.table,
          bucket: iso.bucket,
          endpoints: proxied.endpoints,
          ...(segments === undefined ? {} : { segments }),
        }
        const figures = {
          ...(await inChild(job, flags)),
          requests: { s3: proxied.s3.counts().byOperation, dynamodb: proxied.dynamodb.counts().byOperation },
        }
        console.log(
          JSON.stringify({
            run,
            documents: count,
            segments,
            nodeFlags: flags.join(" "),
            loadAverage: Harness.loadAverage(),
            ...figures,
          }),
        )
      }
    }
    await proxied.close()
  } finally {
    await stack.stop()
  }
}

const args = process.argv.slice(2)
const childAt = args.indexOf("--child")
;(childAt >= 0 ? child(JSON.parse(args[childAt + 1] as string) as Job) : main(Number(args[0] ?? 100_000))).catch(
  (error) => {
    console.error(error)
    process.exit(1)
  },
)
