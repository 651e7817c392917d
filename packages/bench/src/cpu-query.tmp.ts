import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb"
import * as Docket from "@docket/core/Docket"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as LocalStack from "@docket/local/LocalStack"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Corpus from "./Corpus.js"
import * as Harness from "./Harness.js"

const stack = await LocalStack.start()
const { table, bucket, clientConfig } = await LocalStack.isolate(stack, "cpuq", "bench")
await Corpus.loadCache(clientConfig, table, Corpus.generate({ count: 2000, customers: 20, seed: 7 }))
const runtime = ManagedRuntime.make(
  Docket.layer(
    DocketConfig.make({
      table,
      bucket,
      region: clientConfig.s3.region,
      dynamodbEndpoint: Option.some(clientConfig.dynamodb.endpoint),
      s3Endpoint: Option.some(clientConfig.s3.endpoint),
      ttlDays: 3650,
      rps: 100_000,
    }),
    {
      dynamodbClient: { credentials: clientConfig.dynamodb.credentials },
      store: { clientConfig: { credentials: clientConfig.s3.credentials } },
    },
  ).pipe(Layer.provide(Harness.silentJsonLogger), Layer.merge(Harness.silentJsonLogger)),
)
const q: DocumentCache.Query = {
  target: { _tag: "Customer", customer: "cust-007" },
  from: "2026-01-01T00:00:00.000Z",
  to: "2026-04-01T00:00:00.000Z",
}
const client = new DynamoDBClient({ ...clientConfig.dynamodb, maxAttempts: 1 })
const raw = async () => {
  let start: any
  let n = 0
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: "CustomerTimeIndex",
        KeyConditionExpression: "custPk = :pk AND custSk BETWEEN :lo AND :hi",
        FilterExpression: "expiresAt > :now",
        ExpressionAttributeValues: {
          ":pk": { S: "C#cust-007" },
          ":lo": { S: q.from },
          ":hi": { S: q.to },
          ":now": { N: String(Math.floor(Date.now() / 1000)) },
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    )
    n += out.Items?.length ?? 0
    start = out.LastEvaluatedKey
  } while (start)
  return n
}
const page = () => runtime.runPromise(Effect.flatMap(DocumentCache.DocumentCache, (c) => c.page(q, { limit: 1000 })))
const stream = () =>
  runtime.runPromise(Effect.flatMap(DocumentCache.DocumentCache, (c) => Stream.runFold(c.query(q), 0, (n) => n + 1)))
const cpu = async (name: string, fn: () => Promise<unknown>, n = Number(process.env.N ?? 300)) => {
  for (let i = 0; i < 30; i++) await fn()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await fn()
  const c = process.cpuUsage(c0)
  return {
    name,
    cpuMs: +((c.user + c.system) / 1000 / n).toFixed(3),
    wallMs: +((performance.now() - t0) / n).toFixed(3),
  }
}
const results = []
for (let r = 0; r < 2; r++)
  for (const [n, f] of [
    ["raw", raw],
    ["page", page],
    ["stream", stream],
  ] as const)
    results.push(await cpu(n, f))
console.log(JSON.stringify(results))
await runtime.dispose()
client.destroy()
await stack.stop()
