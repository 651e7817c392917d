/**
 * A request-counting HTTP proxy in front of an emulator: tests and benchmarks
 * point a client (or a whole CLI process) at it and read how many requests of
 * each operation a run made, as the service would bill them. DynamoDB
 * operations come from the `X-Amz-Target` header; S3 operations from the
 * method, the path and the query (`ListObjectsV2`, `GetObject`, `HeadObject`,
 * `PutObject`, `DeleteObject`, ...).
 *
 * @example
 * ```ts
 * import * as CountingProxy from "@docket/local/CountingProxy"
 * const proxied = await CountingProxy.around(endpoints)
 * // ... run against proxied.endpoints ...
 * proxied.s3.counts().byOperation.GetObject // 0
 * await proxied.close()
 * ```
 *
 * @since 0.2.0
 */
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import type { Endpoints } from "./LocalStack.js"

/** Requests seen so far. */
export interface Counts {
  readonly total: number
  readonly byOperation: Readonly<Record<string, number>>
}

/** A running proxy. */
export interface CountingProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string
  readonly counts: () => Counts
  readonly reset: () => void
  readonly close: () => Promise<void>
}

/** Which protocol the proxy classifies. */
export type Service = "dynamodb" | "s3"

const s3Operation = (method: string, url: URL): string => {
  const path = url.pathname.split("/").filter((p) => p.length > 0)
  const q = url.searchParams
  if (path.length <= 1) {
    if (method === "GET")
      return q.get("list-type") === "2" ? "ListObjectsV2" : path.length === 0 ? "ListBuckets" : "ListObjects"
    if (method === "POST" && q.has("delete")) return "DeleteObjects"
    return `${method}Bucket`
  }
  switch (method) {
    case "GET":
      return "GetObject"
    case "HEAD":
      return "HeadObject"
    case "PUT":
      return q.has("partNumber") ? "UploadPart" : "PutObject"
    case "DELETE":
      return "DeleteObject"
    default:
      return `${method}Object`
  }
}

/** Starts a proxy on a free loopback port forwarding to `target`. */
export const start = (target: string, service: Service): Promise<CountingProxy> =>
  new Promise((resolve, reject) => {
    const upstream = new URL(target)
    let byOperation: Record<string, number> = {}
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://proxy")
      const operation =
        service === "dynamodb"
          ? String(req.headers["x-amz-target"] ?? "unknown").replace(/^DynamoDB_\d+\./, "")
          : s3Operation(req.method ?? "GET", url)
      byOperation[operation] = (byOperation[operation] ?? 0) + 1
      const forward = request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      forward.on("error", (error) => {
        res.writeHead(502)
        res.end(String(error))
      })
      req.pipe(forward)
    })
    // Longer than any client keeps an idle socket, so the proxy never resets a reused connection.
    server.keepAliveTimeout = 120_000
    server.headersTimeout = 125_000
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        counts: () => ({
          total: Object.values(byOperation).reduce((n, c) => n + c, 0),
          byOperation: { ...byOperation },
        }),
        reset: () => {
          byOperation = {}
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })

/** Proxies in front of both emulators of a stack, and the endpoints that go through them. */
export interface Around {
  readonly endpoints: Endpoints
  readonly dynamodb: CountingProxy
  readonly s3: CountingProxy
  readonly reset: () => void
  readonly close: () => Promise<void>
}

/** Starts a counting proxy in front of each emulator of `e`. */
export const around = async (e: Endpoints): Promise<Around> => {
  const [dynamodb, s3] = await Promise.all([start(e.dynamodbEndpoint, "dynamodb"), start(e.s3Endpoint, "s3")])
  return {
    endpoints: { ...e, dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3.endpoint },
    dynamodb,
    s3,
    reset: () => {
      dynamodb.reset()
      s3.reset()
    },
    close: async () => {
      await Promise.all([dynamodb.close(), s3.close()])
    },
  }
}
