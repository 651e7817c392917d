/**
 * Runs Docket's Lambda handler on an S3 event against the embedded local stack:
 *
 *   npx tsx --conditions=@docket/source examples/run-handler-locally.ts                          # a live event from the stack
 *   npx tsx --conditions=@docket/source examples/run-handler-locally.ts examples/events/s3-put.json
 *   npx tsx --conditions=@docket/source examples/run-handler-locally.ts EVENT.json --bundle      # the built bundle instead
 *                                                                     # (npm run package -w @docket/lambda)
 *
 * It starts DynamoDB Local and the S3 emulator, creates the table and the bucket
 * `docket-example`, writes a change document to S3 with a plain S3 client (as
 * any writer would), then invokes the handler with the event from the file, or,
 * without one, with the real-format notification the local stack produced for
 * that write. It prints the handler's answer and what the cache then holds.
 * Event files must name the bucket `docket-example` (other buckets are skipped).
 */
import { readFileSync } from "node:fs"
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as LocalStack from "@docket/local/LocalStack"
import * as Notifications from "@docket/local/Notifications"

const name = "docket-example"
const args = process.argv.slice(2)
const eventFile = args.find((a) => !a.startsWith("--"))
const useBundle = args.includes("--bundle")

const change = {
  kind: "change",
  id: "CHG-2026-000123",
  version: 3,
  title: "Rotate TLS certificates",
  customers: ["acme", "globex"],
  status: "scheduled",
  schedule: { start: "2026-11-30T22:00:00Z", end: "2026-12-01T02:00:00Z" },
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-20T10:00:00Z",
}

const stack = await LocalStack.start()
try {
  await stack.createTable(name)
  await stack.createBucket(name)

  // Capture the notification the stack produces for our write (the real format).
  const notifications: Array<Notifications.S3Notification> = []
  const unsubscribe = Notifications.subscribe(stack, name, (event) => notifications.push(event))
  const s3 = new S3Client({ ...stack.clientConfig.s3 })
  await s3.send(
    new PutObjectCommand({ Bucket: name, Key: "changes/CHG-2026-000123.json", Body: JSON.stringify(change) }),
  )
  s3.destroy()
  while (notifications.length === 0) await new Promise((r) => setTimeout(r, 5))
  unsubscribe()

  const event: unknown = eventFile !== undefined ? JSON.parse(readFileSync(eventFile, "utf8")) : notifications[0]
  console.error(`event:\n${JSON.stringify(event, null, 2)}\n`)

  Object.assign(process.env, stack.environment({ table: name, bucket: name }), { DOCKET_LOG_LEVEL: "info" })
  const module = useBundle
    ? new URL("../packages/lambda/build/handler.mjs", import.meta.url)
    : new URL("../packages/lambda/src/handler.ts", import.meta.url)
  const { handler } = (await import(module.href)) as {
    handler: (event: unknown, context: { awsRequestId: string }) => Promise<unknown>
  }
  try {
    const response = await handler(event, { awsRequestId: "local-example" })
    console.error(`\nhandler answered: ${JSON.stringify(response)}`)
  } catch (error) {
    console.error(`\nhandler failed (Lambda would retry): ${error instanceof Error ? error.message : String(error)}`)
  }

  const dynamodb = new DynamoDBClient({ ...stack.clientConfig.dynamodb })
  const item = await dynamodb.send(
    new GetItemCommand({ TableName: name, Key: { pk: { S: "DOC#change#CHG-2026-000123" }, sk: { S: "DOC" } } }),
  )
  dynamodb.destroy()
  const summary = item.Item
    ? {
        version: item.Item.version?.N,
        title: item.Item.title?.S,
        sequencer: item.Item.sequencer?.S,
        etag: item.Item.etag?.S,
      }
    : null
  console.error(`cache now holds: ${JSON.stringify(summary)}`)
} finally {
  await stack.stop()
}
// The handler's runtime lives until the process ends (as in a Lambda container).
process.exit(0)
