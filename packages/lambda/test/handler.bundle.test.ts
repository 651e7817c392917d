/**
 * Invokes the BUILT bundle's handler (what is deployed) with real-format events
 * (direct S3, SQS, EventBridge) against the local stack.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DynamoDBCache from "@docket/core/DocumentCache/DynamoDB"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as RateLimit from "@docket/core/RateLimit"
import * as S3Key from "@docket/core/S3Key"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { unzipSync } from "fflate"
import { bundle, zip } from "../scripts/package.mjs"

type Handler = (event: unknown, context: unknown) => Promise<unknown>

const prefix = "docs a+b/ü/"
let handler: Handler
let isolated: Testing.Isolated
let s3: S3Client
let cacheLayer: Layer.Layer<DocumentCache.DocumentCache>
const outDir = mkdtempSync(join(tmpdir(), "docket-lambda-"))
const saved = { ...process.env }
const entry = join(import.meta.dirname, "..", "src", "handler.ts")
let first: Awaited<ReturnType<typeof bundle>>

beforeAll(async () => {
  const outfile = join(outDir, "handler.mjs")
  first = await bundle({ entry, outfile })
  isolated = await Testing.isolated("lambda-bundle")
  Object.assign(process.env, isolated.environment, { DOCKET_PREFIX: prefix, DOCKET_LOG_LEVEL: "error" })
  handler = ((await import(pathToFileURL(outfile).href)) as { handler: Handler }).handler
  s3 = new S3Client({ ...isolated.clientConfig.s3 })
  const settings = DocketConfig.make({ bucket: isolated.bucket, table: isolated.table })
  cacheLayer = DynamoDBCache.layer({
    table: isolated.table,
    retentionDays: settings.ttlDays,
    client: { ...isolated.clientConfig.dynamodb },
  }).pipe(Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)))
})

afterAll(() => {
  s3?.destroy()
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
  Object.assign(process.env, saved)
  rmSync(outDir, { recursive: true, force: true })
})

const context = (requestId: string) => ({ awsRequestId: requestId, callbackWaitsForEmptyEventLoop: true })

const change = (id: string, version: number, title: string) => ({
  kind: "change",
  id,
  version,
  title,
  customers: ["acme", "globex"],
  status: "scheduled",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-01T10:00:00Z",
})

const keyOf = (id: string) => `${prefix}changes/${id}.json`
const put = (id: string, body: unknown) =>
  s3.send(
    new PutObjectCommand({
      Bucket: isolated.bucket,
      Key: keyOf(id),
      Body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  )

const s3Record = (key: string, sequencer: string, eventName = "ObjectCreated:Put") => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  awsRegion: "us-east-1",
  eventTime: new Date().toISOString(),
  eventName,
  userIdentity: { principalId: "AWS:TEST" },
  requestParameters: { sourceIPAddress: "127.0.0.1" },
  responseElements: { "x-amz-request-id": "R", "x-amz-id-2": "I" },
  s3: {
    s3SchemaVersion: "1.0",
    configurationId: "docket",
    bucket: { name: isolated.bucket, ownerIdentity: { principalId: "O" }, arn: `arn:aws:s3:::${isolated.bucket}` },
    object: { key: S3Key.encodeEventKey(key), size: 1, eTag: "e", sequencer },
  },
})

const cached = (id: string) =>
  Effect.runPromise(
    Effect.flatMap(DocumentCache.DocumentCache, (cache) => cache.get("change", id)).pipe(Effect.provide(cacheLayer)),
  )

describe("the bundled Lambda handler", () => {
  it("packages reproducibly: the same source gives the same bundle and a byte-identical zip", async () => {
    const againDir = mkdtempSync(join(tmpdir(), "docket-lambda-again-"))
    try {
      const again = await bundle({ entry, outfile: join(againDir, "handler.mjs") })
      expect(again.sha256).toBe(first.sha256)
      expect(again.files).toStrictEqual(first.files)
      expect(first.bytes).toBeLessThan(1.5 * 1024 * 1024)
      // The entry and its chunks (code splitting): the scheduled and backfill entries are chunks of their own.
      expect(first.files).toContain("handler.mjs")
      expect(first.files.some((f) => /^chunks\/Tasks-\w+\.mjs$/.test(f))).toBe(true)
      const files = (root: string) => Object.fromEntries(first.files.map((f) => [f, readFileSync(join(root, f))]))
      const a = zip(files(outDir))
      const b = zip(files(againDir))
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0)
      expect(Object.keys(unzipSync(a)).sort()).toStrictEqual([...first.files])
    } finally {
      rmSync(againDir, { recursive: true, force: true })
    }
  })

  it("an S3-event cold start loads no Stream: queries, scans, listings and the sweep sit in chunks it never imports", () => {
    const loaded = first.loadedInputs
    const shipped = Object.keys((first.metafile as { inputs: Record<string, unknown> }).inputs)
    const streamy = [
      /effect\/dist\/esm\/Stream\.js$/,
      /effect\/dist\/esm\/internal\/channel\/channelExecutor\.js$/,
      /DocumentCache\/DynamoDB\/(Queries|Bulk|Intents)\.ts$/,
      /internal\/(s3List|memoryList|memoryCache)\.ts$/,
      /core\/src\/(Heal|Reconcile|Backfill)\.ts$/,
    ]
    for (const pattern of streamy) {
      expect(loaded.filter((path) => pattern.test(path))).toStrictEqual([])
      expect(shipped.some((path) => pattern.test(path))).toBe(true)
    }
    expect(loaded.some((path) => path.endsWith("core/src/S3EventSync.ts"))).toBe(true)
  })

  it("direct S3 events: converges the cache to S3 and fails the invocation only when a record failed", async () => {
    await put("CHG-direct-1", change("CHG-direct-1", 1, "one"))
    await put("CHG-direct-2", change("CHG-direct-2", 1, "two"))
    await put("CHG-broken", '{"kind":"change"')
    expect(
      await handler(
        { Records: [s3Record(keyOf("CHG-direct-1"), "0A"), s3Record(keyOf("CHG-direct-2"), "0B")] },
        context("r1"),
      ),
    ).toBeUndefined()
    const one = await cached("CHG-direct-1")
    expect(Option.isSome(one) && one.value._tag === "Cached" && one.value.document).toStrictEqual(
      change("CHG-direct-1", 1, "one"),
    )

    await s3.send(new DeleteObjectCommand({ Bucket: isolated.bucket, Key: keyOf("CHG-direct-1") }))
    await put("CHG-direct-2", change("CHG-direct-2", 2, "two, updated"))
    const failing = handler(
      {
        Records: [
          s3Record(keyOf("CHG-direct-1"), "0C", "ObjectRemoved:Delete"),
          s3Record(keyOf("CHG-broken"), "0D"),
          s3Record(keyOf("CHG-direct-2"), "0E"),
        ],
      },
      context("r2"),
    )
    await expect(failing).rejects.toThrow(/1 of 3 S3 event record\(s\) failed: Records\[1\].*CHG-broken/)
    // The others were applied all the same.
    const deleted = await cached("CHG-direct-1")
    expect(Option.isNone(deleted) || deleted.value._tag === "Tombstone").toBe(true)
    const two = await cached("CHG-direct-2")
    expect(Option.isSome(two) && two.value._tag === "Cached" && two.value.summary.version).toBe(2)
  })

  it("SQS: reports exactly the failed messages as batchItemFailures, skips S3 test events", async () => {
    await put("CHG-sqs-1", change("CHG-sqs-1", 3, "via sqs"))
    const sqs = (messageId: string, body: unknown) => ({
      messageId,
      receiptHandle: `h-${messageId}`,
      body: typeof body === "string" ? body : JSON.stringify(body),
      attributes: { ApproximateReceiveCount: "1" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:docket",
      awsRegion: "us-east-1",
    })
    const response = await handler(
      {
        Records: [
          sqs("m-test", { Service: "Amazon S3", Event: "s3:TestEvent", Bucket: isolated.bucket }),
          sqs("m-ok", { Records: [s3Record(keyOf("CHG-sqs-1"), "10")] }),
          sqs("m-malformed", { Records: [{ eventSource: "aws:s3", eventVersion: "2.1" }] }),
          sqs("m-broken", { Records: [s3Record(keyOf("CHG-broken"), "11")] }),
          sqs("m-other-key", { Records: [s3Record(`${prefix}notes/readme.txt`, "12")] }),
        ],
      },
      context("r3"),
    )
    expect(response).toStrictEqual({
      batchItemFailures: [{ itemIdentifier: "m-malformed" }, { itemIdentifier: "m-broken" }],
    })
    const doc = await cached("CHG-sqs-1")
    expect(Option.isSome(doc) && doc.value._tag === "Cached" && doc.value.summary.version).toBe(3)
  })

  it("EventBridge: applies Object Created / Object Deleted with the key as EventBridge sends it", async () => {
    await put("CHG-eb-1", change("CHG-eb-1", 1, "via eventbridge"))
    const eb = (key: string, detailType: string, sequencer: string) => ({
      version: "0",
      id: `id-${sequencer}`,
      "detail-type": detailType,
      source: "aws.s3",
      account: "123456789012",
      time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: "us-east-1",
      resources: [`arn:aws:s3:::${isolated.bucket}`],
      detail: {
        version: "0",
        bucket: { name: isolated.bucket },
        object: { key, size: 1, etag: "e", sequencer },
        "request-id": "R",
        requester: "123456789012",
        reason: "PutObject",
      },
    })
    expect(await handler(eb(keyOf("CHG-eb-1"), "Object Created", "20"), context("r4"))).toBeUndefined()
    const created = await cached("CHG-eb-1")
    expect(Option.isSome(created) && created.value._tag).toBe("Cached")
    await s3.send(new DeleteObjectCommand({ Bucket: isolated.bucket, Key: keyOf("CHG-eb-1") }))
    expect(await handler(eb(keyOf("CHG-eb-1"), "Object Deleted", "21"), context("r5"))).toBeUndefined()
    const deleted = await cached("CHG-eb-1")
    expect(Option.isNone(deleted) || deleted.value._tag === "Tombstone").toBe(true)
    await expect(
      handler({ source: "aws.s3", "detail-type": "Object Created", detail: {} }, context("r6")),
    ).rejects.toThrow(/EventBridge event/)
    await expect(handler({ unexpected: true }, context("r7"))).rejects.toThrow(/not an S3 notification/)
  })

  it("loads the scheduled and backfill entries from their chunks on the invocation that needs them", async () => {
    expect(await handler({ docket: "heal" }, context("r8"))).toMatchObject({ task: "heal", failed: 0 })
    // Reconcile lists S3 and scans the table: the many-document operations of the tasks' own runtime.
    expect(await handler({ docket: "reconcile", slice: "changes/" }, context("r8b"))).toMatchObject({
      task: "reconcile",
      fixFailed: 0,
    })
    await expect(
      handler(
        { invocationSchemaVersion: "2.0", invocationId: "i", job: { id: "j" }, tasks: "not a list" },
        context("r9"),
      ),
    ).rejects.toThrow()
  })
})
