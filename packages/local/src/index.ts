/**
 * @docket/local: the embedded AWS stack for development, tests, the demo and benchmarks.
 *
 * @since 0.1.0
 */

export * as CountingProxy from "./CountingProxy.js"
export * as LocalStack from "./LocalStack.js"
export * as SqsDelivery from "./SqsDelivery.js"
