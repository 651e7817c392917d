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
export const clientConfig = (): LocalStack.ClientConfig => LocalStack.clientConfigOf(endpoints())

/** A fresh table and bucket of the shared stack, for one test or file. */
export type Isolated = LocalStack.Isolated

/** Creates a uniquely named table and bucket on the shared stack. */
export const isolated = (label: string): Promise<Isolated> => LocalStack.isolate(endpoints(), label)
