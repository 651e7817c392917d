/**
 * Vitest global setup: starts one local stack for the whole test run and stops
 * it (and its JVM) at the end. Test files reach it through `@docket/local/Testing`.
 *
 * @since 0.1.0
 */
import type { TestProject } from "vitest/node"
import * as LocalStack from "./LocalStack.js"

export default async function setup(project: TestProject) {
  const started = Date.now()
  const stack = await LocalStack.start()
  project.provide("docketLocalStack", {
    region: stack.region,
    credentials: stack.credentials,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    s3Endpoint: stack.s3Endpoint,
  })
  if (process.env.DOCKET_TEST_VERBOSE) console.log(`local stack up in ${Date.now() - started} ms`)
  return async () => {
    await stack.stop()
  }
}
