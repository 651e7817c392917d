/**
 * The backends built with `documentsOnly` (the Lambda's S3-event runtime): their
 * single-document operations work as usual, their many-document ones (the DynamoDB
 * backend's `query`, `page`, `scan`, `fingerprints`, `intents`; the S3 store's
 * `list`) are not loaded and die with a message that names the operation and the
 * option, before any request. No server: the SDK clients are never reached by the
 * many-document calls, and the single-document call is answered by a stub.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3Store from "../src/DocumentStore/S3.js"
import * as RateLimit from "../src/RateLimit.js"

/** The defect's message of a call that must die, or a failure of the test. */
const deathOf = (call: () => unknown) =>
  Effect.map(Effect.exit(Effect.sync(call)), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("the call did not die")
    const defect = Option.getOrThrow(Cause.dieOption(exit.cause))
    return defect instanceof Error ? defect.message : String(defect)
  })

describe("documentsOnly backends", () => {
  it.effect("the DynamoDB backend's many-document operations die unsent; a single-document read is sent", () =>
    Effect.gen(function* () {
      const sent: Array<string> = []
      const client = {
        send: (command: { constructor: { name: string } }) => {
          sent.push(command.constructor.name)
          return Promise.resolve({})
        },
      } as unknown as DynamoDBClient
      const cache = yield* DynamoDB.make(client, { table: "t", retentionDays: 30, documentsOnly: true })
      const many = {
        query: () => cache.query({ _tag: "Customer", customer: "acme", from: 0, to: 1 } as never),
        page: () => cache.page({ _tag: "Customer", customer: "acme", from: 0, to: 1 } as never, { limit: 10 }),
        scan: () => cache.scan(),
        fingerprints: () => cache.fingerprints([]),
        intents: () => cache.intents({ expiredBefore: 0 }),
      }
      for (const [operation, call] of Object.entries(many)) {
        expect(yield* deathOf(call)).toBe(
          `DocumentCache.${operation} is not loaded: this DynamoDB backend was built with documentsOnly`,
        )
      }
      expect(sent).toEqual([])
      expect(Option.isNone(yield* cache.get("change", "CHG-1"))).toBe(true)
      expect(sent).toEqual(["GetItemCommand"])
    }).pipe(Effect.provide(DocumentKind.layerDefault), Effect.provide(RateLimit.layerUnlimited)),
  )

  it.scoped("the S3 store's list dies before any request", () =>
    Effect.gen(function* () {
      const store = yield* S3Store.make({
        bucket: "b",
        documentsOnly: true,
        clientConfig: { region: "us-east-1", endpoint: "http://127.0.0.1:9" },
      })
      expect(yield* deathOf(() => store.list())).toBe(
        "DocumentStore.list is not loaded: this S3 store was built with documentsOnly",
      )
      expect(store.keyOf("change", "CHG-1")).toBe("changes/CHG-1.json")
    }).pipe(Effect.provide(DocumentKind.layerDefault)),
  )
})
