import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as S3Store from "@docket/core/DocumentStore/S3"
import * as S3EventSync from "@docket/core/S3EventSync"
import * as LocalStack from "@docket/local/LocalStack"
import * as Notifications from "@docket/local/Notifications"
import * as Testing from "@docket/local/Testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

// The S3 emulator runs in this process so that its object changes are observable here.
let stack: LocalStack.Stack
beforeAll(async () => {
  stack = await LocalStack.start({ dynamodbEndpoint: Testing.endpoints().dynamodbEndpoint })
})
afterAll(async () => {
  await stack?.stop()
})

const prefix = "team a+b/ü/"
const document = (version: number, title: string) => ({
  kind: "announcement",
  id: "ANN-local-1",
  version,
  type: "maintenance",
  title,
  customers: ["acme"],
  status: "published",
  publishAt: "2026-11-20T09:00:00Z",
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-01T10:00:00Z",
})

describe("local event wiring", () => {
  it.live("any S3 client's writes reach the cache through real-format local events and the sync workflow", () =>
    Effect.gen(function* () {
      const bucket = "local-wiring"
      yield* Effect.promise(() => stack.createBucket(bucket))
      const settings = DocketConfig.make({
        bucket,
        prefix,
        s3Endpoint: Option.some(stack.s3Endpoint),
        region: stack.region,
        maxAttempts: 2,
      })
      const layer = Layer.mergeAll(
        DocumentCache.layerMemory(),
        S3Store.layer({
          ...S3Store.optionsFromSettings(settings),
          clientConfig: { ...stack.clientConfig.s3 },
        }),
      ).pipe(Layer.provideMerge(Layer.merge(DocketConfig.layer(settings), DocumentKind.layerDefault)))

      yield* Effect.gen(function* () {
        const consumer = yield* S3EventSync.consume((listener) => Notifications.subscribe(stack, bucket, listener))
        const cache = yield* DocumentCache.DocumentCache
        // A foreign client (as the AWS CLI would), not Docket.
        const s3 = new S3Client({ ...stack.clientConfig.s3 })
        const key = `${prefix}announcements/ANN-local-1.json`
        const put = (version: number, title: string) =>
          Effect.promise(() =>
            s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(document(version, title)) })),
          )
        yield* put(1, "first")
        yield* put(2, "second")
        yield* consumer.idle
        const cached = yield* cache.get("announcement", "ANN-local-1")
        expect(Option.isSome(cached) && cached.value._tag === "Cached" && cached.value.document).toStrictEqual(
          document(2, "second"),
        )
        yield* Effect.promise(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })))
        yield* consumer.idle
        const gone = yield* cache.get("announcement", "ANN-local-1")
        expect(Option.isNone(gone) || gone.value._tag === "Tombstone").toBe(true)
        expect(yield* consumer.failures).toStrictEqual([])
        s3.destroy()
      }).pipe(Effect.scoped, Effect.provide(layer))
    }),
  )
})
