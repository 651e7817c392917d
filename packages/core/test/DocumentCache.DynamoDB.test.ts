import * as Testing from "@docket/local/Testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DynamoDB from "../src/DocumentCache/DynamoDB.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as RateLimit from "../src/RateLimit.js"
import { contract } from "./DocumentCache.contract.js"

contract("DynamoDB Local", (options) =>
  Layer.unwrapEffect(
    Effect.promise(() => Testing.isolated("cache-contract")).pipe(
      Effect.map(({ table, clientConfig }) =>
        DynamoDB.layer({ table, ...options, client: clientConfig.dynamodb }).pipe(
          Layer.provide(Layer.merge(DocumentKind.layerDefault, RateLimit.layerUnlimited)),
        ),
      ),
    ),
  ),
)
