/**
 * Docket's layer over an isolated table and bucket of the local stack, as the
 * local-stack tests build it: the stack's endpoints (or proxies in front of
 * them) and its credentials, with the test's own settings and options on top.
 *
 * The test file creates its isolated stack itself (`Testing.isolated(label)`):
 * `vitest.files.ts` tells a file that needs the local stack by its own imports.
 */
import type * as LocalStack from "@docket/local/LocalStack"
import type * as Testing from "@docket/local/Testing"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Docket from "../../src/Docket.js"
import * as DocketConfig from "../../src/DocketConfig.js"

/** `isolated`'s endpoints: the stack's DynamoDB Local and S3 emulator. */
export const endpointsOf = (isolated: Testing.Isolated): LocalStack.Endpoints => ({
  region: isolated.clientConfig.s3.region,
  credentials: isolated.clientConfig.s3.credentials,
  dynamodbEndpoint: isolated.clientConfig.dynamodb.endpoint,
  s3Endpoint: isolated.clientConfig.s3.endpoint,
})

/**
 * Docket on `target`'s table and bucket at `endpoints` (default: the stack's own),
 * with the local credentials unless `options` gives other client settings;
 * `settings` add to (or replace) `DocketConfig.make`'s defaults.
 */
export const layer = (
  target: Testing.Isolated,
  settings: Partial<DocketConfig.Settings> = {},
  options: Docket.Options = {},
  endpoints: LocalStack.Endpoints = endpointsOf(target),
): Layer.Layer<Docket.Services> =>
  Docket.layer(
    DocketConfig.make({
      table: target.table,
      bucket: target.bucket,
      region: endpoints.region,
      dynamodbEndpoint: Option.some(endpoints.dynamodbEndpoint),
      s3Endpoint: Option.some(endpoints.s3Endpoint),
      ...settings,
    }),
    {
      ...options,
      dynamodbClient: { credentials: endpoints.credentials, ...options.dynamodbClient },
      store: { ...options.store, clientConfig: { credentials: endpoints.credentials, ...options.store?.clientConfig } },
    },
  )
