/**
 * Two builds of `@docket/core` in ONE process over the canned handler (profile/canned.ts): CPU per
 * write of each, in alternating blocks of a few writes with the raw floor's block in between, so
 * that a loaded machine's bursts hit both alike (separate processes, round by round, could not
 * tell a 5% change at load 10). Build each into a directory inside the repository (so that
 * `effect` and the SDK resolve from its node_modules), e.g. `cp -r packages/core/dist build/base`:
 *
 *   npm run profile -- pair build/base packages/core/dist [--blocks 300] [--block 10]
 *
 * Run it with the same directory twice for the noise floor (an A/A ratio). Both builds share the
 * SDK and effect, so a change of the objects they hand the SDK (e.g. the abort signal's class)
 * makes that shared code see both kinds: such a change is better compared process by process.
 */
import { loadavg } from "node:os"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { S3Client } from "@aws-sdk/client-s3"
import type * as Document from "@docket/core/Document"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as WriteFloor from "../fixtures/write-floor.js"
import * as Harness from "../Harness.js"
import { handler, lastAnswerAt } from "./canned.js"

const endpoint = "http://127.0.0.1:9"
const credentials = { accessKeyId: "canned", secretAccessKey: "canned" }

/** WriteThrough.write of the build in `dir`, over the canned handler. */
const writerOf = async (dir: string) => {
  const load = (name: string) => import(pathToFileURL(resolve(dir, `${name}.js`)).href)
  const [Docket, DocketConfig, WriteThrough] = await Promise.all([
    load("Docket"),
    load("DocketConfig"),
    load("WriteThrough"),
  ])
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
    (
      Docket.layer(settings, {
        dynamodbClient: { credentials, requestHandler: handler as never },
        store: { clientConfig: { credentials, requestHandler: handler as never } },
      }) as Layer.Layer<never>
    ).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
  )
  return (doc: Document.AnyDocument) => runtime.runPromise(WriteThrough.write(doc) as Effect.Effect<unknown>)
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** `npm run profile -- pair DIR_A DIR_B [--blocks N] [--block N]`. */
export const run = async (args: ReadonlyArray<string>) => {
  const dirs = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--") && a !== "pair")
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name)
    return at >= 0 ? Number(args[at + 1]) : fallback
  }
  const [dirA, dirB] = dirs
  if (dirA === undefined || dirB === undefined) {
    process.stderr.write("usage: npm run profile -- pair DIR_A DIR_B [--blocks N] [--block N]\n")
    process.exitCode = 2
    return
  }
  const blocks = option("--blocks", 300)
  const block = option("--block", 10)
  const docs = Corpus.generate({ count: 1000, customers: 50, seed: 5 })
  let next = 0
  const fresh = (): Document.AnyDocument => {
    const doc = docs[next++ % docs.length]!
    return { ...doc, id: `${doc.id.slice(0, 4)}pair-${next}` } as Document.AnyDocument
  }
  const config = { region: "us-east-1", endpoint, credentials, requestHandler: handler as never, maxAttempts: 1 }
  const dynamodb = new DynamoDBClient(config)
  const s3 = new S3Client({ ...config, forcePathStyle: true })
  const floor = WriteFloor.floor({ dynamodb, s3, table: "canned", bucket: "canned" })
  const a = await writerOf(dirA)
  const b = await writerOf(dirB)
  const runs: Record<string, () => Promise<unknown>> = {
    A: () => a(fresh()),
    B: () => b(fresh()),
    floor: () => floor(fresh()),
  }
  for (const op of Object.values(runs)) for (let i = 0; i < 300; i++) await op()
  const total: Record<string, number> = { A: 0, B: 0, floor: 0 }
  const tails: Record<string, Array<number>> = { A: [], B: [], floor: [] }
  const ratios: Array<number> = []
  for (let r = 0; r < blocks; r++) {
    const used: Record<string, number> = {}
    for (const label of r % 2 === 0 ? ["A", "B", "floor"] : ["B", "A", "floor"]) {
      const start = process.cpuUsage()
      for (let i = 0; i < block; i++) {
        await runs[label]!()
        tails[label]!.push(performance.now() - lastAnswerAt())
      }
      const cpu = process.cpuUsage(start)
      used[label] = cpu.user + cpu.system
      total[label]! += used[label]!
    }
    ratios.push(used.B! / used.A!)
  }
  dynamodb.destroy()
  s3.destroy()
  const per = (label: string) => total[label]! / 1000 / (blocks * block)
  process.stdout.write(
    `pair: CPU ms per write in this process, ${blocks} alternating blocks of ${block} (load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")})\n${Object.keys(runs)
      .map((l) => `  ${l.padEnd(6)} CPU ${per(l).toFixed(3)} ms  tail ${(median(tails[l]!) * 1000).toFixed(0)} us`)
      .join("\n")}\n  B/A ${(per("B") / per("A")).toFixed(3)} (median block ${median(ratios).toFixed(3)}), A/floor ${(
      per("A") / per("floor")
    ).toFixed(3)}, B/floor ${(per("B") / per("floor")).toFixed(3)}\n`,
  )
  // The two runtimes hold no resource beyond the canned clients; end the process without disposing them.
  process.exit(0)
}
