/**
 * Counting what a client sends: a pass-through HTTP proxy in front of an
 * endpoint that records every request (its operation, start and end). Used in
 * separate counting passes, never while timing (the proxy adds latency).
 *
 * From a recording of operations done one after another: requests per
 * operation, and sequential round trips per operation (groups of requests that
 * overlap in time count once: a GetObject beside a GetItem is one round trip).
 *
 * @since 0.1.0
 */
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"

/** One request seen on the wire. */
export interface Request {
  /** `dynamodb:UpdateItem`, `s3:PUT`, ... */
  readonly operation: string
  readonly start: number
  end: number
}

/** A recording proxy. */
export interface Recorder {
  readonly endpoint: string
  readonly requests: Array<Request>
  readonly close: () => Promise<void>
}

/** Starts a proxy for `target` (`http://host:port`); `service` prefixes the operation names. */
export const record = async (service: "dynamodb" | "s3", target: string): Promise<Recorder> => {
  const requests: Array<Request> = []
  const url = new URL(target)
  const server = createServer((req, res) => {
    const amzTarget = req.headers["x-amz-target"]
    const operation =
      service === "dynamodb" && typeof amzTarget === "string"
        ? `dynamodb:${amzTarget.split(".").at(-1)}`
        : `${service}:${req.method ?? "?"}`
    const entry: Request = { operation, start: performance.now(), end: Number.NaN }
    requests.push(entry)
    const upstream = httpRequest(
      { host: url.hostname, port: url.port, path: req.url, method: req.method, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers)
        response.pipe(res)
        response.on("end", () => {
          entry.end = performance.now()
        })
      },
    )
    upstream.on("error", () => {
      entry.end = performance.now()
      res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** What operations cost on the wire, on average. */
export interface Counts {
  readonly operations: number
  readonly requestsPerOperation: number
  readonly sequentialRoundTripsPerOperation: number
  /** Requests by operation name, per operation. */
  readonly byOperation: Record<string, number>
}

/**
 * Runs `count` operations one after another, recording the requests each
 * makes on the given recorders, and counts them.
 */
export const count = async (
  recorders: ReadonlyArray<Recorder>,
  operations: number,
  run: (i: number) => Promise<unknown>,
): Promise<Counts> => {
  let requests = 0
  let roundTrips = 0
  const byOperation: Record<string, number> = {}
  for (let i = 0; i < operations; i++) {
    const before = recorders.map((r) => r.requests.length)
    await run(i)
    const mine = recorders.flatMap((r, j) => r.requests.slice(before[j]))
    requests += mine.length
    for (const r of mine) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1
    // Sequential round trips: sweep requests by start; one that starts after every earlier one ended opens a new trip.
    let openUntil = Number.NEGATIVE_INFINITY
    for (const r of [...mine].sort((a, b) => a.start - b.start)) {
      if (r.start >= openUntil) roundTrips++
      openUntil = Math.max(openUntil, Number.isNaN(r.end) ? r.start : r.end)
    }
  }
  const per = (n: number) => Math.round((n / operations) * 100) / 100
  return {
    operations,
    requestsPerOperation: per(requests),
    sequentialRoundTripsPerOperation: per(roundTrips),
    byOperation: Object.fromEntries(Object.entries(byOperation).map(([k, v]) => [k, per(v)])),
  }
}
