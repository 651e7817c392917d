import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import * as Testing from "@docket/local/Testing"
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3 from "../src/DocumentStore/S3.js"
import * as DocumentStore from "../src/DocumentStore.js"
import { contract, contractPrefix, metadataRoundTrip } from "./DocumentStore.contract.js"

const pageSize = 3
const maxObjectBytes = 4096

contract("memory", () =>
  Effect.gen(function* () {
    const memory = yield* DocumentStore.makeMemory({ prefix: contractPrefix, pageSize, maxObjectBytes })
    return {
      layer: Layer.succeed(DocumentStore.DocumentStore, memory),
      putRaw: (key: string, body: string | Uint8Array) => memory.putRaw(key, body),
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      utf8Order: true,
    }
  }).pipe(Effect.provide(DocumentKind.layerDefault)),
)

contract("S3 emulator", () =>
  Effect.gen(function* () {
    const isolated = yield* Effect.promise(() => Testing.isolated("store"))
    const raw = new S3Client({ ...isolated.clientConfig.s3 })
    return {
      layer: S3.layer({
        bucket: isolated.bucket,
        prefix: contractPrefix,
        clientConfig: isolated.clientConfig.s3,
        pageSize,
        maxObjectBytes,
        retry: { maxAttempts: 2, base: "10 millis", cap: "10 millis" },
      }).pipe(Layer.provide(DocumentKind.layerDefault)),
      putRaw: (key: string, body: string | Uint8Array) =>
        Effect.promise(() => raw.send(new PutObjectCommand({ Bucket: isolated.bucket, Key: key, Body: body }))).pipe(
          Effect.asVoid,
        ),
      prefix: contractPrefix,
      pageSize,
      maxObjectBytes,
      utf8Order: false,
    }
  }),
)

describe("DocumentStore metadata", () => {
  it("metadata round-trips through US-ASCII for any values", () => {
    fc.assert(metadataRoundTrip, { numRuns: 300 })
  })
})
