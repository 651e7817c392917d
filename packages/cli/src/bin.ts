/**
 * The `docket` entry point. At this stage it runs the foundation demo: start the
 * embedded stack, write a document's items and object, read them back.
 */
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb"
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as Items from "@docket/core/Items"
import * as S3Key from "@docket/core/S3Key"
import * as LocalStack from "@docket/local/LocalStack"
import * as Either from "effect/Either"

const registry = DocumentKind.defaultRegistry

const main = async () => {
  const t0 = performance.now()
  const stack = await LocalStack.start()
  try {
    console.log(`local stack up in ${Math.round(performance.now() - t0)} ms`)
    await stack.createTable("docket-demo")
    await stack.createBucket("docket-demo")
    const dynamo = new DynamoDBClient(stack.clientConfig.dynamodb)
    const s3 = new S3Client(stack.clientConfig.s3)
    const doc = Either.getOrThrow(
      registry.decode(
        {
          kind: "change",
          id: "CHG-2026-000123",
          version: 1,
          title: "Rotate TLS certificates",
          customers: ["acme", "globex"],
          status: "approved",
          schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
          createdAt: "2026-11-01T10:00:00Z",
          updatedAt: "2026-11-01T10:00:00Z",
        },
        "demo",
      ),
    )
    const key = S3Key.forDocument("", DocumentKind.change, doc.id)
    const items = Items.toItems(doc, registry, { s3Key: key, retentionDays: 365 })
    await dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [items.document, ...items.customers].map((Item) => ({
          Put: { TableName: "docket-demo", Item },
        })),
      }),
    )
    await s3.send(new PutObjectCommand({ Bucket: "docket-demo", Key: key, Body: JSON.stringify(doc) }))
    const cached = await dynamo.send(
      new GetItemCommand({
        TableName: "docket-demo",
        Key: { pk: { S: Items.documentPk("change", doc.id) }, sk: { S: "DOC" } },
      }),
    )
    const object = await s3.send(new GetObjectCommand({ Bucket: "docket-demo", Key: key }))
    console.log("cache:", JSON.stringify(Either.getOrThrow(Items.fromDocumentItem(cached.Item ?? {}, registry))))
    console.log("s3:   ", await object.Body?.transformToString())
    dynamo.destroy()
    s3.destroy()
  } finally {
    await stack.stop()
  }
}

await main()
