/**
 * The test run's local stack in a process of its own (started by `globalSetup`).
 *
 * Vitest's main process answers its workers' progress calls with a 60 s deadline it
 * does not let us change; with the S3 emulator in that process, a loaded machine could
 * keep it busy past the deadline ("Timeout calling onTaskUpdate"). Here the emulator and
 * DynamoDB Local's watchdog run apart from Vitest. The process writes one JSON line with
 * the endpoints on stdout, and stops the stack (JVM included) on SIGTERM, SIGINT or when
 * its stdin closes (its parent died, however it died).
 *
 * @internal
 */
import * as LocalStack from "../LocalStack.js"

const stack = await LocalStack.start()
let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  stack.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
process.stdin.on("end", stop)
process.stdin.on("error", stop)
process.stdin.resume()
process.stdout.write(
  `${JSON.stringify({
    region: stack.region,
    credentials: stack.credentials,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    s3Endpoint: stack.s3Endpoint,
  })}\n`,
)
