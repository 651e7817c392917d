/**
 * Test support: one local stack per test run (started by the vitest global
 * setup `@docket/local/globalSetup`), shared by every test file, which isolate
 * themselves by table and bucket name.
 *
 * @example
 * ```ts
 * import * as Testing from "@docket/local/Testing"
 * const { table, bucket, clientConfig } = await Testing.isolated("write-through")
 * ```
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { inject } from "vitest"
import * as LocalStack from "./LocalStack.js"

declare module "vitest" {
  export interface ProvidedContext {
    docketLocalStack: LocalStack.Endpoints
  }
}

/** The shared stack's endpoints. */
export const endpoints = (): LocalStack.Endpoints => inject("docketLocalStack")

/** SDK client configuration for the shared stack. */
export const clientConfig = (): LocalStack.ClientConfig => {
  const e = endpoints()
  return {
    dynamodb: { endpoint: e.dynamodbEndpoint, region: e.region, credentials: e.credentials },
    s3: { endpoint: e.s3Endpoint, region: e.region, credentials: e.credentials, forcePathStyle: true },
  }
}

/** A fresh table and bucket of the shared stack, for one test or file. */
export interface Isolated {
  readonly table: string
  readonly bucket: string
  readonly clientConfig: LocalStack.ClientConfig
  /** The DOCKET_* / AWS_* variables that point a process at this table and bucket. */
  readonly environment: Record<string, string>
}

/** Creates a uniquely named table and bucket on the shared stack. */
export const isolated = async (label: string): Promise<Isolated> => {
  const suffix = randomUUID().slice(0, 8)
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 30)
  const table = `docket-${safe}-${suffix}`
  const bucket = `docket-${safe}-${suffix}`.replace(/-+/g, "-")
  const config = clientConfig()
  await Promise.all([LocalStack.createTable(config, table), LocalStack.createBucket(config, bucket)])
  const e = endpoints()
  return {
    table,
    bucket,
    clientConfig: config,
    environment: {
      DOCKET_TABLE: table,
      DOCKET_BUCKET: bucket,
      AWS_REGION: e.region,
      DOCKET_DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
      DOCKET_S3_ENDPOINT: e.s3Endpoint,
      AWS_ACCESS_KEY_ID: e.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: e.credentials.secretAccessKey,
    },
  }
}
