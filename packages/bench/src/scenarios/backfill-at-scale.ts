/**
 * `backfill-rerun` and `reconcile-vs-list`: what a re-run of backfill and a
 * reconcile cost on an unchanged, clean bucket, against the floor of any such
 * run: a raw ListObjectsV2 of the same prefix (one page per 1,000 keys, no
 * body read). Docket also compares every listed ETag with the cache: backfill
 * in BatchGetItem batches of 100, reconcile by a merge-join with a parallel
 * segmented Scan. Rounds alternate raw listing, re-run, reconcile on the same
 * table and bucket, after a warm-up round that is not counted; the request
 * counts of one Docket round are taken by a counting proxy in front of both
 * emulators. Two raw floors are measured in the same rounds as context (not
 * targeted): the listing pipelined with raw BatchGetItems (100 keys, 16 at
 * once as Docket's, Docket's projection), which is all an unchanged re-run
 * must do, and a raw Scan with Docket's projection, filter and default segment
 * count (`Reconcile.defaultSegments`), which a reconcile must wait for
 * whatever it does with the items.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DynamoDBClient,
  type KeysAndAttributes,
  ScanCommand,
} from "@aws-sdk/client-dynamodb"
import { paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3"
import * as Backfill from "@docket/core/Backfill"
import type * as Docket from "@docket/core/Docket"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Reconcile from "@docket/core/Reconcile"
import * as S3Key from "@docket/core/S3Key"
import * as CountingProxy from "@docket/local/CountingProxy"
import type * as LocalStack from "@docket/local/LocalStack"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Corpus from "../Corpus.js"
import * as Harness from "../Harness.js"

const layerOn = (iso: Harness.Isolated, endpoints: LocalStack.Endpoints) => Harness.docketLayer(iso, endpoints)

const rawList = async (iso: Harness.Isolated): Promise<number> => {
  const s3 = new S3Client({ ...iso.clientConfig.s3, maxAttempts: 3 })
  let keys = 0
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: iso.bucket })) {
      keys += page.KeyCount ?? page.Contents?.length ?? 0
    }
  } finally {
    s3.destroy()
  }
  return keys
}

/** The attributes Docket's BatchGetItem and Scan project (DocumentCache/DynamoDB/Bulk.ts). */
const projected = [
  "pk",
  "kind",
  "id",
  "version",
  "etag",
  "s3Key",
  "expiresAt",
  "tombstone",
  "time",
  "customers",
  "status",
  "statusPk",
]
const projection = {
  ProjectionExpression: projected.map((_, i) => `#a${i}`).join(", "),
  ExpressionAttributeNames: Object.fromEntries(projected.map((a, i) => [`#a${i}`, a])),
}

/** The re-run's floor: each listing page's keys fetched in BatchGetItems of 100, 16 at once (Backfill's compareConcurrency), while the next page lists. */
const rawListAndBatchGet = async (iso: Harness.Isolated): Promise<number> => {
  const s3 = new S3Client({ ...iso.clientConfig.s3, maxAttempts: 3 })
  const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  const batchGet = async (keys: ReadonlyArray<Record<string, AttributeValue>>): Promise<number> => {
    let found = 0
    let request: KeysAndAttributes | undefined = { Keys: [...keys], ...projection }
    while (request?.Keys !== undefined && request.Keys.length > 0) {
      const out: BatchGetItemCommandOutput = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [iso.table]: request } }),
      )
      found += out.Responses?.[iso.table]?.length ?? 0
      request = out.UnprocessedKeys?.[iso.table]
    }
    return found
  }
  const pending: Array<Promise<number>> = []
  const inFlight = new Set<Promise<number>>()
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: iso.bucket })) {
      const keys = (page.Contents ?? []).flatMap((o) =>
        Option.match(S3Key.parse("", o.Key ?? "", DocumentKind.defaultRegistry), {
          onNone: () => [],
          onSome: (p) => [{ pk: { S: Items.documentPk(p.kind, p.id) }, sk: { S: Items.documentSk } }],
        }),
      )
      for (let i = 0; i < keys.length; i += 100) {
        while (inFlight.size >= 16) await Promise.race(inFlight)
        const call = batchGet(keys.slice(i, i + 100))
        inFlight.add(call)
        void call.finally(() => inFlight.delete(call))
        pending.push(call)
      }
    }
    return (await Promise.all(pending)).reduce((n, c) => n + c, 0)
  } finally {
    s3.destroy()
    dynamodb.destroy()
  }
}

/** The reconcile's floor: a raw segmented Scan of the document items with Docket's projection and filter. */
const rawScan = async (iso: Harness.Isolated, segments: number): Promise<number> => {
  const dynamodb = new DynamoDBClient({ ...iso.clientConfig.dynamodb, maxAttempts: 3 })
  try {
    const counts = await Promise.all(
      Array.from({ length: segments }, async (_, segment) => {
        let items = 0
        let start: Record<string, AttributeValue> | undefined
        do {
          const out = await dynamodb.send(
            new ScanCommand({
              TableName: iso.table,
              Segment: segment,
              TotalSegments: segments,
              FilterExpression: "#sk = :doc",
              ProjectionExpression: projection.ProjectionExpression,
              ExpressionAttributeNames: { ...projection.ExpressionAttributeNames, "#sk": "sk" },
              ExpressionAttributeValues: { ":doc": { S: Items.documentSk } },
              ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
            }),
          )
          items += out.Items?.length ?? 0
          start = out.LastEvaluatedKey
        } while (start !== undefined)
        return items
      }),
    )
    return counts.reduce((n, c) => n + c, 0)
  } finally {
    dynamodb.destroy()
  }
}

const scenario: Harness.Scenario = {
  name: "backfill-at-scale",
  description: "Unchanged re-run of backfill and clean reconcile vs a raw ListObjectsV2 of the same prefix.",
  produces: ["backfill-rerun", "reconcile-vs-list"],
  run: async (ctx) => {
    const count = ctx.quick ? 2_000 : 10_000
    const rounds = ctx.quick ? 2 : 3
    const segments = Reconcile.defaultSegments
    const documents = Corpus.generate({ count, customers: 50, seed: 23 })
    const iso = await ctx.isolated("backfill-scale")
    await Corpus.loadBucket(iso.clientConfig, iso.bucket, documents)
    const direct = layerOn(iso, ctx.stack)
    const fill = await Effect.runPromise(
      Backfill.run({ concurrency: 16 }).pipe(Effect.provide(direct), Effect.provide(Harness.silentJsonLogger)),
    )
    if (fill.written !== count) throw new Error(`the fill wrote ${fill.written} of ${count}`)
    ctx.log(`  filled ${count} documents`)

    const timed = async (f: () => Promise<number>) => {
      const started = performance.now()
      const n = await f()
      if (n !== count) throw new Error(`processed ${n} of ${count}`)
      return n / ((performance.now() - started) / 1000)
    }
    const rerun = () =>
      Effect.runPromise(
        Backfill.run({ concurrency: 16 }).pipe(Effect.provide(direct), Effect.provide(Harness.silentJsonLogger)),
      ).then((s) => (s.written === 0 && s.bodiesRead === 0 ? s.unchanged : -1))
    const reconcile = () =>
      Effect.runPromise(Reconcile.run().pipe(Effect.provide(direct), Effect.provide(Harness.silentJsonLogger))).then(
        (r) => (Reconcile.hasDrift(r) || r.bodiesRead > 0 ? -1 : r.compared),
      )
    const rates = {
      list: [] as Array<number>,
      rerun: [] as Array<number>,
      reconcile: [] as Array<number>,
      listAndBatchGet: [] as Array<number>,
      scan: [] as Array<number>,
    }
    // Round 0 warms every path up (the fill wrote, it never took the re-run's path) and is not counted.
    for (let round = 0; round <= rounds; round++) {
      const take = (into: Array<number>, rate: number) => {
        if (round > 0) into.push(rate)
        return rate
      }
      const shown = {
        list: take(rates.list, await timed(() => rawList(iso))),
        rerun: take(rates.rerun, await timed(rerun)),
        reconcile: take(rates.reconcile, await timed(reconcile)),
        listAndBatchGet: take(rates.listAndBatchGet, await timed(() => rawListAndBatchGet(iso))),
        scan: take(rates.scan, await timed(() => rawScan(iso, segments))),
      }
      ctx.log(
        `  ${round === 0 ? "warm-up (not counted)" : `round ${round}`}: list ${shown.list.toFixed(0)}/s, re-run ${shown.rerun.toFixed(0)}/s, reconcile ${shown.reconcile.toFixed(0)}/s; raw floors: list + BatchGetItem ${shown.listAndBatchGet.toFixed(0)}/s, ${segments}-segment Scan ${shown.scan.toFixed(0)}/s`,
      )
    }

    // One counted round of each, through proxies in front of both emulators.
    const proxied = await CountingProxy.around(ctx.stack)
    const counted = layerOn(iso, proxied.endpoints)
    const requests = async (f: Effect.Effect<unknown, unknown, Docket.Services>) => {
      proxied.reset()
      await Effect.runPromise(f.pipe(Effect.provide(counted), Effect.provide(Harness.silentJsonLogger)))
      return { s3: proxied.s3.counts().byOperation, dynamodb: proxied.dynamodb.counts().byOperation }
    }
    const rerunRequests = await requests(Backfill.run({ concurrency: 16 }))
    const reconcileRequests = await requests(Reconcile.run())
    await proxied.close()

    const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length
    const list = mean(rates.list)
    const baseline = { docsPerSecond: Math.round(list), rounds: rates.list.map(Math.round), documents: count }
    const note = (requestsOf: { dynamodb: Record<string, number> }) =>
      `DynamoDB requests per document: ${(Object.values(requestsOf.dynamodb).reduce((n, c) => n + c, 0) / count).toFixed(4)} (budget 0.04).`
    return [
      {
        name: "backfill-rerun",
        description:
          "Documents per second of an unchanged backfill re-run (list, BatchGetItem per 100, no body read) vs a raw ListObjectsV2 of the same prefix. Target: >= 0.2.",
        baseline,
        docket: {
          docsPerSecond: Math.round(mean(rates.rerun)),
          rounds: rates.rerun.map(Math.round),
          documents: count,
          requests: rerunRequests,
        },
        ratio: Harness.ratio(mean(rates.rerun), list),
        context: {
          rawListAndBatchGet: {
            docsPerSecond: Math.round(mean(rates.listAndBatchGet)),
            rounds: rates.listAndBatchGet.map(Math.round),
            vsList: Harness.ratio(mean(rates.listAndBatchGet), list),
            docketVsThisFloor: Harness.ratio(mean(rates.rerun), mean(rates.listAndBatchGet)),
          },
        },
        target: 0.2,
        direction: ">=",
        criterion: "docket re-run / raw listing, documents per second",
        notes: note(rerunRequests),
      },
      {
        name: "reconcile-vs-list",
        description: `Documents per second of a clean reconcile (listing merge-joined with a parallel Scan of the default ${segments} segments, Reconcile.defaultSegments, no body read) vs a raw ListObjectsV2 of the same prefix. Target: >= 0.2.`,
        baseline,
        docket: {
          docsPerSecond: Math.round(mean(rates.reconcile)),
          rounds: rates.reconcile.map(Math.round),
          documents: count,
          segments,
          requests: reconcileRequests,
        },
        ratio: Harness.ratio(mean(rates.reconcile), list),
        context: {
          rawScan: {
            segments,
            docsPerSecond: Math.round(mean(rates.scan)),
            rounds: rates.scan.map(Math.round),
            vsList: Harness.ratio(mean(rates.scan), list),
            docketVsThisFloor: Harness.ratio(mean(rates.reconcile), mean(rates.scan)),
          },
        },
        target: 0.2,
        direction: ">=",
        criterion: "docket reconcile / raw listing, documents per second",
        notes: note(reconcileRequests),
      },
    ] satisfies ReadonlyArray<Harness.NamedResult>
  },
}

export default scenario
