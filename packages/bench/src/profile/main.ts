/**
 * CPU profiles of Docket's hot paths, for docs/benchmarks.md:
 *
 *   npm run profile -- write|read|query|import|rerun|reconcile|fresh|canned|stubbed-read|canned-sync|canned-backfill|canned-query|pair [--out DIR]
 *
 * - `write`: WriteThrough.write of fresh documents, one after another.
 * - `read`: FallbackReader.read of cached documents (hits), then of documents
 *   only in S3 (misses, each refill awaited), one after another.
 * - `query`: a customer quarter (about 50 items) through the page API and the Stream API.
 * - `rerun` / `reconcile`: an unchanged backfill re-run / a clean reconcile over 5,000 documents.
 * - `fresh`: a backfill of a fresh bucket (empty table) of 3,000 documents.
 * - `import`: the bundled Lambda handler imported in a fresh `node --cpu-prof` process.
 * - `canned`: Docket's own CPU, allocation and tail per write and per cache hit over canned SDK
 *   answers (no I/O), against the raw floors (profile/canned.ts).
 * - `stubbed-read`: Docket's own CPU per hit and per miss with the SDK's `send` stubbed (profile/stubbedRead.ts).
 * - `canned-sync`: CPU per S3 event record of the bundled Lambda handlers (Docket's, the careful
 *   floor's, Powertools') over one canned in-process HTTP server (profile/canned-sync.ts).
 * - `canned-backfill`: the same for a backfill, fresh and re-run (profile/cannedBackfill.ts).
 * - `pair DIR_A DIR_B`: two builds of @docket/core in one process over the canned answers, CPU per
 *   write in alternating blocks (profile/pair.ts).
 *
 * `write` and `query` start the embedded stack, warm the path up, then record
 * only the measured loop with V8's CPU profiler (the one `node --cpu-prof`
 * drives, through `node:inspector`), so the stack's start-up is not in the
 * profile. Each writes `DIR/NAME.cpuprofile` (open it in Chrome DevTools or
 * speedscope for the flame graph) and prints the top self-time modules and
 * functions (profile/summarize.ts).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import type * as Document from "@docket/core/Document"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as FallbackReader from "@docket/core/FallbackReader"
import * as Reconcile from "@docket/core/Reconcile"
import * as WriteThrough from "@docket/core/WriteThrough"
import * as LocalStack from "@docket/local/LocalStack"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { bundle, packageDir } from "../../../lambda/scripts/package.mjs"
import * as Corpus from "../Corpus.js"
import * as ReadFloor from "../fixtures/read-floor.js"
import * as WriteFloor from "../fixtures/write-floor.js"
import * as Harness from "../Harness.js"
import * as Summarize from "./summarize.js"

const args = process.argv.slice(2)
const what = args.find((a) => !a.startsWith("--")) ?? ""
const outIndex = args.indexOf("--out")
const out = resolve(outIndex >= 0 ? (args[outIndex + 1] ?? ".") : join(tmpdir(), "docket-profiles"))
const log = (message: string) => process.stderr.write(`[profile] ${message}\n`)

const report = (name: string, file: string, locate?: (url: string, line: number) => string | undefined) => {
  const { totalMs, modules, functions } = Summarize.summarize(JSON.parse(readFileSync(file, "utf8")), locate)
  const rows = (entries: ReadonlyArray<Summarize.Entry>) =>
    entries
      .slice(0, 8)
      .map((e) => `  ${e.share.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.name}`)
      .join("\n")
  process.stdout.write(
    `${name}: ${file} (${totalMs} ms sampled)\nself time by module:\n${rows(modules)}\nby function:\n${rows(functions)}\n`,
  )
}

const profiled = async (name: string, loop: () => Promise<void>) => {
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 200 })
  await session.post("Profiler.start")
  const started = performance.now()
  const cpu = process.cpuUsage()
  await loop()
  const used = process.cpuUsage(cpu)
  const elapsed = performance.now() - started
  const { profile } = await session.post("Profiler.stop")
  session.disconnect()
  const file = join(out, `${name}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  log(
    `${name}: ${Math.round(elapsed)} ms profiled, ${Math.round((used.user + used.system) / 1000)} ms CPU in this process (load ${loadavg()
      .map((n) => n.toFixed(1))
      .join(" ")})`,
  )
  report(name, file)
}

/**
 * CPU per operation in this process (which also hosts the S3 emulator; DynamoDB Local is a JVM of
 * its own), Docket against its raw baseline: `rounds` rounds of `n` operations each, alternating,
 * so that the machine's drift hits both alike. Printed as the medians of the rounds.
 */
const cpuPerOp = async (
  name: string,
  rounds: number,
  n: number,
  runs: Record<string, () => Promise<unknown>>,
): Promise<void> => {
  const perOp: Record<string, Array<number>> = {}
  for (let r = 0; r < rounds; r++) {
    for (const [label, run] of Object.entries(runs)) {
      const cpu = process.cpuUsage()
      for (let i = 0; i < n; i++) await run()
      const used = process.cpuUsage(cpu)
      const samples = perOp[label] ?? []
      samples.push((used.user + used.system) / 1000 / n)
      perOp[label] = samples
    }
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  process.stdout.write(
    `${name}: CPU ms per operation in this process, median of ${rounds} interleaved rounds of ${n} (load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}): ${Object.entries(perOp)
      .map(([label, xs]) => `${label} ${median(xs).toFixed(2)}`)
      .join(", ")}\n`,
  )
}

const withDocket = async (
  run: (runtime: ManagedRuntime.ManagedRuntime<any, never>, stack: LocalStack.Stack) => Promise<void>,
) => {
  const stack = await LocalStack.start()
  try {
    const { table, bucket, clientConfig } = await LocalStack.isolate(stack, "profile", "bench")
    const settings = DocketConfig.make({
      table,
      bucket,
      region: clientConfig.s3.region,
      dynamodbEndpoint: Option.some(clientConfig.dynamodb.endpoint),
      s3Endpoint: Option.some(clientConfig.s3.endpoint),
      ttlDays: 3650,
      rps: 100_000,
    })
    const runtime = ManagedRuntime.make(
      Docket.layer(settings, {
        dynamodbClient: { credentials: clientConfig.dynamodb.credentials },
        store: { clientConfig: { credentials: clientConfig.s3.credentials } },
      }).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
    )
    try {
      await run(runtime, { ...stack, table, bucket, clientConfig } as never)
    } finally {
      await runtime.dispose()
    }
  } finally {
    await stack.stop()
  }
}

const write = () =>
  withDocket(async (runtime, stack) => {
    const { table, bucket, clientConfig } = stack as unknown as Harness.Isolated
    const docs = Corpus.generate({ count: 800, customers: 50, seed: 5 })
    let next = 0
    const fresh = (): Document.AnyDocument => {
      const doc = docs[next++ % docs.length]!
      return { ...doc, id: `${doc.id.slice(0, 4)}prof-${next}` } as Document.AnyDocument
    }
    const dynamodb = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
    const s3 = new S3Client({ ...clientConfig.s3, maxAttempts: 1 })
    const floor = WriteFloor.floor({ dynamodb, s3, table, bucket })
    const one = () => runtime.runPromise(WriteThrough.write(fresh()))
    const oneFloor = () => floor(fresh())
    try {
      for (let i = 0; i < 100; i++) await one()
      for (let i = 0; i < 100; i++) await oneFloor()
      await cpuPerOp("write", 5, 60, { docket: one, floor: oneFloor })
      await profiled("write", async () => {
        for (let i = 0; i < 300; i++) await one()
      })
      await profiled("write-floor", async () => {
        for (let i = 0; i < 300; i++) await oneFloor()
      })
    } finally {
      dynamodb.destroy()
      s3.destroy()
    }
  })

const read = () =>
  withDocket(async (runtime, stack) => {
    const { table, bucket, clientConfig } = stack as unknown as Harness.Isolated
    // Far-future times, so that no entry expires (as the read benchmark does).
    const future = (d: Document.AnyDocument): Document.AnyDocument =>
      (d.kind === "change"
        ? { ...d, schedule: { start: "2099-06-01T00:00:00Z", end: "2099-06-02T00:00:00Z" } }
        : { ...d, publishAt: "2099-06-01T00:00:00Z" }) as Document.AnyDocument
    const hits = Corpus.generate({ count: 200, customers: 50, seed: 21 }).map(future)
    const misses = Corpus.generate({ count: 1200, customers: 50, seed: 22 }).map((d, i) =>
      future({ ...d, id: `${d.id.slice(0, 4)}miss-${i}` } as Document.AnyDocument),
    )
    await Corpus.loadCache(clientConfig, table, hits)
    await Corpus.loadBucket(clientConfig, bucket, [...hits, ...misses])
    const readOne = (doc: Document.AnyDocument, expected: "cache" | "store") =>
      runtime.runPromise(
        Effect.flatMap(FallbackReader.FallbackReader, (reader) =>
          Effect.flatMap(reader.read(doc.kind, doc.id), (result) =>
            Option.getOrUndefined(result)?.source !== expected
              ? Effect.dieMessage(`${doc.id}: expected a read from ${expected}`)
              : expected === "store"
                ? reader.awaitRefills
                : Effect.void,
          ),
        ),
      )
    const dynamodb = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
    const s3 = new S3Client({ ...clientConfig.s3, maxAttempts: 1 })
    const target = { dynamodb, s3, table, bucket }
    const rawHit = ReadFloor.hit(target)
    const floorMiss = ReadFloor.floorMiss(target)
    let hit = 0
    let miss = 0
    const hitDocket = () => readOne(hits[hit++ % hits.length]!, "cache")
    const hitRaw = () => rawHit(hits[hit++ % hits.length]!)
    const missDocket = () => readOne(misses[miss++]!, "store")
    const missFloor = () => floorMiss(misses[miss++]!)
    try {
      for (let i = 0; i < 100; i++) await hitDocket()
      for (let i = 0; i < 100; i++) await hitRaw()
      for (let i = 0; i < 30; i++) await missDocket()
      for (let i = 0; i < 30; i++) await missFloor()
      await cpuPerOp("read hit", 5, 100, { docket: hitDocket, raw: hitRaw })
      await cpuPerOp("read miss", 5, 40, { docket: missDocket, floor: missFloor })
      await profiled("read-hit", async () => {
        for (let i = 0; i < 600; i++) await hitDocket()
      })
      await profiled("read-hit-raw", async () => {
        for (let i = 0; i < 600; i++) await hitRaw()
      })
      await profiled("read-miss", async () => {
        for (let i = 0; i < 300; i++) await missDocket()
      })
      await profiled("read-miss-floor", async () => {
        for (let i = 0; i < 300; i++) await missFloor()
      })
    } finally {
      dynamodb.destroy()
      s3.destroy()
    }
  })

const query = () =>
  withDocket(async (runtime, stack) => {
    const { table, clientConfig } = stack as unknown as { table: string; clientConfig: LocalStack.ClientConfig }
    const docs = Corpus.generate({ count: 2_000, customers: 20, seed: 7 })
    log("loading 2,000 documents (20 customers: about 50 items per customer quarter, as the full corpus)")
    await Corpus.loadCache(clientConfig, table, docs)
    const q: DocumentCache.Query = {
      target: { _tag: "Customer", customer: "cust-007" },
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-04-01T00:00:00.000Z",
    }
    const page = () =>
      runtime.runPromise(Effect.flatMap(DocumentCache.DocumentCache, (cache) => cache.page(q, { limit: 1000 })))
    const stream = () =>
      runtime.runPromise(
        Effect.flatMap(DocumentCache.DocumentCache, (cache) => Stream.runFold(cache.query(q), 0, (n) => n + 1)),
      )
    for (let i = 0; i < 50; i++) await page()
    for (let i = 0; i < 50; i++) await stream()
    await profiled("query-page", async () => {
      for (let i = 0; i < 400; i++) await page()
    })
    await profiled("query-stream", async () => {
      for (let i = 0; i < 400; i++) await stream()
    })
  })

/** A backfill of a fresh bucket (empty table) of 3,000 documents, profiled over one run. */
const fresh = () =>
  withDocket(async (runtime, stack) => {
    const { bucket, clientConfig } = stack as unknown as { bucket: string; clientConfig: LocalStack.ClientConfig }
    const docs = Corpus.generate({ count: 3_000, customers: 50, seed: 29 })
    log("loading 3,000 documents into the bucket")
    await Corpus.loadBucket(clientConfig, bucket, docs)
    await profiled("fresh", async () => {
      const s = await runtime.runPromise(Backfill.run({ concurrency: 16 }))
      if (s.written !== docs.length) throw new Error(`fresh backfill: ${JSON.stringify(s)}`)
    })
  })

/** An unchanged backfill re-run and a clean reconcile over 5,000 documents, each profiled over 4 runs. */
const atScale = (which: "rerun" | "reconcile") =>
  withDocket(async (runtime, stack) => {
    const { bucket, clientConfig } = stack as unknown as { bucket: string; clientConfig: LocalStack.ClientConfig }
    const docs = Corpus.generate({ count: 5_000, customers: 50, seed: 23 })
    log("loading 5,000 documents into the bucket and filling the cache")
    await Corpus.loadBucket(clientConfig, bucket, docs)
    await runtime.runPromise(Backfill.run({ concurrency: 16 }))
    const once = () =>
      which === "rerun"
        ? runtime.runPromise(Backfill.run({ concurrency: 16 })).then((s) => {
            if (s.unchanged !== docs.length || s.bodiesRead !== 0) throw new Error(`re-run: ${JSON.stringify(s)}`)
          })
        : runtime.runPromise(Reconcile.run()).then((r) => {
            if (r.compared !== docs.length || r.bodiesRead !== 0) throw new Error(`reconcile: ${JSON.stringify(r)}`)
          })
    await once()
    await profiled(which, async () => {
      for (let i = 0; i < 4; i++) await once()
    })
  })

const lambdaImport = async () => {
  const dir = mkdtempSync(join(tmpdir(), "docket-profile-import-"))
  try {
    // What the shipped (minified) bundle is made of: bytes by package.
    const shipped = await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: join(dir, "min.mjs") })
    const bytes = new Map<string, number>()
    const metafile = shipped.metafile as {
      outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>
    }
    for (const output of Object.values(metafile.outputs)) {
      for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
        const where = Summarize.moduleOf({ functionName: "", url: `/${path}`, lineNumber: 0 })
        const group = where.startsWith("effect/") ? "effect" : where
        bytes.set(group, (bytes.get(group) ?? 0) + bytesInOutput)
      }
    }
    const total = [...bytes.values()].reduce((a, b) => a + b, 0)
    process.stdout.write(
      `bundle ${(shipped.bytes / 1024).toFixed(1)} KB minified loaded at import (${(shipped.totalBytes / 1024).toFixed(1)} KB in ${shipped.files.length} files), by package (all files):\n${[
        ...bytes.entries(),
      ]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(
          ([p, n]) => `  ${((n / total) * 100).toFixed(1).padStart(5)}%  ${(n / 1024).toFixed(1).padStart(7)} KB  ${p}`,
        )
        .join("\n")}\n`,
    )
    // Profiled: the same bundle unminified, so that esbuild's "// path" markers tell each line's source.
    const file = join(dir, "handler.mjs")
    const unminified = await bundle({ entry: join(packageDir, "src", "handler.ts"), outfile: file, minify: false })
    // Code splitting: the entry and its chunks each carry their own markers.
    const markersOf = new Map<string, Array<{ line: number; source: string }>>()
    for (const output of unminified.files) {
      const markers: Array<{ line: number; source: string }> = []
      readFileSync(join(dir, output), "utf8")
        .split("\n")
        .forEach((text, line) => {
          const m = /^\/\/ (\S+\.(?:js|ts|mjs|cjs))$/.exec(text)
          if (m !== null) markers.push({ line, source: m[1]! })
        })
      markersOf.set(output.split("/").at(-1)!, markers)
    }
    const locate = (url: string, line: number) => {
      const markers = markersOf.get(url.split("/").at(-1) ?? "")
      if (markers === undefined) return undefined
      let lo = 0
      let hi = markers.length - 1
      let found: string | undefined
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        if (markers[mid]!.line <= line) {
          found = markers[mid]!.source
          lo = mid + 1
        } else hi = mid - 1
      }
      return found === undefined
        ? "(bundle prelude)"
        : Summarize.moduleOf({ functionName: "", url: `/${found}`, lineNumber: 0 })
    }
    const profiles = join(dir, "profiles")
    // Five imports in fresh processes; the middle one (by file order) is kept.
    for (let i = 0; i < 5; i++) {
      execFileSync(process.execPath, ["--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", profiles, file], {
        env: { ...process.env, AWS_REGION: "us-east-1", DOCKET_TABLE: "t", DOCKET_BUCKET: "b" },
        stdio: "ignore",
      })
    }
    const files = readdirSync(profiles).map((f) => join(profiles, f))
    const target = join(out, "import.cpuprofile")
    renameSync(files[Math.floor(files.length / 2)]!, target)
    report("import", target, locate)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

mkdirSync(out, { recursive: true })
if (what === "write") await write()
else if (what === "read") await read()
else if (what === "query") await query()
else if (what === "import") await lambdaImport()
else if (what === "rerun" || what === "reconcile") await atScale(what)
else if (what === "fresh") await fresh()
else if (what === "canned") await (await import("./canned.js")).run(args)
else if (what === "stubbed-read") await (await import("./stubbedRead.js")).run(args)
else if (what === "canned-sync") await (await import("./canned-sync.js")).run(args)
else if (what === "canned-backfill") await (await import("./cannedBackfill.js")).run(args)
else if (what === "canned-query") await (await import("./cannedQuery.js")).run(args)
else if (what === "pair") await (await import("./pair.js")).run(args)
else {
  log(
    "usage: npm run profile -- write|read|query|import|rerun|reconcile|fresh|canned|stubbed-read|canned-sync|canned-backfill|canned-query|pair [--out DIR]",
  )
  process.exitCode = 2
}
