/**
 * Request counting for the local-stack tests that assert request budgets
 * (BulkRequests, Heal, StatusShards): Docket's layer over an isolated table and
 * bucket, with every DynamoDB and S3 request going through the counting proxies
 * of `@docket/local/CountingProxy`.
 *
 * The test file starts the proxies and its isolated stack itself
 * (`CountingProxy.around(Testing.endpoints())`, `Testing.isolated(label)`):
 * `vitest.files.ts` tells a file that needs the local stack by its own imports.
 */
import type * as CountingProxy from "@docket/local/CountingProxy"
import type * as Testing from "@docket/local/Testing"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Docket from "../../src/Docket.js"
import type * as DocketConfig from "../../src/DocketConfig.js"
import * as LocalDocket from "./LocalDocket.js"

/**
 * Docket's layer on `isolated`'s table and bucket through `proxied`, with the
 * local credentials; `settings` and `options` add to (or replace) the defaults.
 */
export const layer = (
  proxied: CountingProxy.Around,
  isolated: Testing.Isolated,
  settings: Partial<DocketConfig.Settings> = {},
  options: Docket.Options = {},
): Layer.Layer<Docket.Services> =>
  LocalDocket.layer(isolated, settings, options, {
    ...proxied.endpoints,
    dynamodbEndpoint: proxied.dynamodb.endpoint,
    s3Endpoint: proxied.s3.endpoint,
  })

/** What `self` returned, with the requests it made to S3 and to DynamoDB (the counts are reset first). */
export const counted = <A, E, R>(
  proxied: CountingProxy.Around,
  self: Effect.Effect<A, E, R>,
): Effect.Effect<
  { readonly result: A; readonly s3: CountingProxy.Counts; readonly dynamodb: CountingProxy.Counts },
  E,
  R
> =>
  Effect.gen(function* () {
    proxied.reset()
    const result = yield* self
    return { result, s3: proxied.s3.counts(), dynamodb: proxied.dynamodb.counts() }
  })
