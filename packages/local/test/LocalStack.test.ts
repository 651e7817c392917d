import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { DynamoDBClient, GetItemCommand, QueryCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb"
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Document from "@docket/core/Document"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as Table from "@docket/core/Table"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { javaArgs } from "../src/internal/jvmProcess.js"
import * as LocalStack from "../src/LocalStack.js"
import * as Testing from "../src/Testing.js"

const registry = DocumentKind.defaultRegistry

const change = {
  kind: "change",
  id: "CHG-2026-000123",
  version: 3,
  title: "Rotate TLS certificates",
  customers: ["acme", "globex"],
  status: "approved",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-02T10:00:00Z",
  ticket: "OPS-1",
}
const announcement = {
  kind: "announcement",
  id: "ANN-2026-000045",
  version: 1,
  type: "maintenance",
  title: "Maintenance ünïcode ✓",
  customers: ["acme"],
  status: "published",
  publishAt: "2026-11-20T09:00:00Z",
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-01T10:00:00Z",
}

describe("LocalStack", () => {
  let env: Testing.Isolated
  let dynamo: DynamoDBClient
  let s3: S3Client
  beforeAll(async () => {
    env = await Testing.isolated("local-stack")
    dynamo = new DynamoDBClient(env.clientConfig.dynamodb)
    s3 = new S3Client(env.clientConfig.s3)
  })
  afterAll(() => {
    dynamo.destroy()
    s3.destroy()
  })

  it("creates the table from core's definition and answers every index", async () => {
    for (const raw of [change, announcement]) {
      const doc = Either.getOrThrow(registry.decode(raw, "test"))
      const items = Items.toItems(doc, registry, { s3Key: `${doc.kind}/${doc.id}.json`, retentionDays: 3650 })
      await dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [items.document, ...items.customers].map((Item) => ({ Put: { TableName: env.table, Item } })),
        }),
      )
    }
    const got = await dynamo.send(
      new GetItemCommand({ TableName: env.table, Key: { pk: { S: "DOC#change#CHG-2026-000123" }, sk: { S: "DOC" } } }),
    )
    const entry = Either.getOrThrow(Items.fromDocumentItem(got.Item ?? {}, registry))
    expect(entry._tag === "Cached" && Document.sameContent(entry.document, change)).toBe(true)

    const time = await dynamo.send(
      new QueryCommand({
        TableName: env.table,
        IndexName: "TimeRangeIndex",
        KeyConditionExpression: "timePk = :b AND timeSk BETWEEN :from AND :to",
        ExpressionAttributeValues: { ":b": { S: "T#2026-11" }, ":from": { S: "2026-11-01" }, ":to": { S: "2026-12" } },
      }),
    )
    expect(time.Items?.map((i) => i.id?.S)).toStrictEqual(["ANN-2026-000045", "CHG-2026-000123"])
    expect(time.Items?.[0]?.body).toBeUndefined()

    const customer = await dynamo.send(
      new QueryCommand({
        TableName: env.table,
        IndexName: "CustomerTimeIndex",
        KeyConditionExpression: "custPk = :c",
        ExpressionAttributeValues: { ":c": { S: "C#globex" } },
      }),
    )
    expect(customer.Items?.map((i) => i.id?.S)).toStrictEqual(["CHG-2026-000123"])

    // One status index shard per document (a stable hash of its key): the item is in exactly one of them.
    const shards = await Promise.all(
      Items.statusPartitions("announcement", "published", Table.statusShards).map((pk) =>
        dynamo.send(
          new QueryCommand({
            TableName: env.table,
            IndexName: "StatusTimeIndex",
            KeyConditionExpression: "statusPk = :s",
            ExpressionAttributeValues: { ":s": { S: pk } },
          }),
        ),
      ),
    )
    expect(shards.flatMap((out) => out.Items ?? []).map((i) => i.title?.S)).toStrictEqual(["Maintenance ünïcode ✓"])
  })

  it("stores and serves objects with odd keys through the S3 emulator", async () => {
    const key = "tenant a/é+x/changes/CHG-1.json"
    await s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: JSON.stringify(change) }))
    const got = await s3.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }))
    expect(JSON.parse(await got.Body!.transformToString())).toStrictEqual(change)
  })

  it("runs DynamoDB Local with the client compiler unless the throughput JIT is asked for", async () => {
    expect(javaArgs("/emu", 8000, undefined)).toContain("-XX:TieredStopAtLevel=1")
    expect(javaArgs("/emu", 8000, undefined, "startup")).toContain("-XX:TieredStopAtLevel=1")
    const full = javaArgs("/emu", 8000, "/data", "throughput")
    expect(full.some((a) => a.startsWith("-XX:TieredStopAtLevel"))).toBe(false)
    expect(full).toEqual(expect.arrayContaining(["-port", "8000", "-dbPath", "/data", "-sharedDb"]))
    // A real JVM started with it: its command line carries no tier limit, and it answers.
    const stack = await LocalStack.start({ dynamodbJit: "throughput" })
    try {
      const port = new URL(stack.dynamodbEndpoint).port
      const pids = execFileSync("pgrep", ["-f", `DynamoDBLocal.jar -port ${port} `], { encoding: "utf8" })
        .trim()
        .split("\n")
      const lines = pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"))
      const java = lines.find((argv) => argv[0]?.endsWith("java"))
      expect(java).toBeDefined()
      expect(java!.some((a) => a.startsWith("-XX:TieredStopAtLevel"))).toBe(false)
      const client = new DynamoDBClient({ ...stack.clientConfig.dynamodb })
      await stack.createTable("jit")
      const out = await client.send(new GetItemCommand({ TableName: "jit", Key: { pk: { S: "x" }, sk: { S: "y" } } }))
      expect(out.Item).toBeUndefined()
      client.destroy()
    } finally {
      await stack.stop()
    }
  }, 180_000)

  it("fails with a clear error naming the fix when java is missing", async () => {
    const path = process.env.PATH
    process.env.PATH = "/nonexistent"
    try {
      await expect(LocalStack.start()).rejects.toMatchObject({
        _tag: "LocalStackError",
        reason: "JavaNotFound",
        message: expect.stringMatching(/java.*not found.*install/i),
      })
    } finally {
      process.env.PATH = path
    }
  })
})
