/**
 * A loopback HTTP proxy in front of the S3 emulator that can hold PutObject
 * requests: the crash-safety end-to-end tests point `DOCKET_S3_ENDPOINT` at it to
 * keep a real `docket put` process stuck in its S3 put (then SIGKILL it), or to
 * make one writer's put slow while another writer runs.
 *
 * Every other request passes straight through. A held put's body is read in full
 * first, so it can still be delivered to S3 after its client is gone (a put that
 * was on the wire when its writer died) or dropped (a put that never arrived).
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** What to do with a PutObject whose key matches. */
export type Rule =
  /** Keep it until {@link Held.release} or {@link Held.drop}. */
  | { readonly _tag: "Hold" }
  /** Deliver it after `ms`. */
  | { readonly _tag: "Delay"; readonly ms: number }

/** A PutObject the proxy is holding. */
export interface Held {
  readonly key: string
  readonly body: Buffer
  readonly at: number
  /** Whether the client that sent it is still connected. */
  readonly clientConnected: () => boolean
  /** Sends it to S3 now; resolves with S3's status code (the client may be long gone). */
  readonly release: () => Promise<number>
  /** Never sends it: the put did not arrive. */
  readonly drop: () => void
}

/** A running proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:PORT`, for `DOCKET_S3_ENDPOINT`. */
  readonly endpoint: string
  /** Applies `rule` to the next PutObject of an object key ending in `keySuffix`. */
  readonly rule: (keySuffix: string, rule: Rule) => void
  /** Resolves with the next PutObject held under a `Hold` rule for `keySuffix`. */
  readonly held: (keySuffix: string) => Promise<Held>
  /** Every PutObject key seen so far (for assertions on what reached the proxy). */
  readonly puts: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/** Options of {@link start}. */
export interface Options {
  /**
   * Enforce `If-Match` / `If-None-Match: *` on PutObject the way AWS S3 does (the
   * emulator ignores them), when the request reaches the emulator: a held put is
   * judged when it is released, as S3 judges a put when it arrives. The proxy knows
   * an object's ETag from the puts and deletes it forwarded, so every writer of a key
   * must go through it; a put of a key it has not seen passes.
   */
  readonly conditional?: boolean
}

const preconditionFailed = (res: ServerResponse | undefined, key: string): number => {
  if (res !== undefined && !res.destroyed && !res.headersSent) {
    res.writeHead(412, { "content-type": "application/xml" })
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Key>${key}</Key></Error>`,
    )
  }
  return 412
}

/** Starts a proxy on a free loopback port in front of `target` (the emulator's endpoint). */
export const start = async (target: string, options: Options = {}): Promise<S3Proxy> => {
  const upstream = new URL(target)
  const rules = new Map<string, Rule>()
  const waiting = new Map<string, Array<(h: Held) => void>>()
  const heldQueue = new Map<string, Array<Held>>()
  const seen: Array<string> = []
  // Object key -> its ETag (null: deleted), from what went through (for `conditional`).
  const etags = new Map<string, string | null>()

  const keyOf = (req: IncomingMessage) =>
    decodeURIComponent(new URL(req.url ?? "/", "http://proxy").pathname.split("/").slice(2).join("/"))

  const refused = (req: IncomingMessage, key: string): boolean => {
    if (options.conditional !== true || req.method !== "PUT" || !etags.has(key)) return false
    const current = etags.get(key) ?? null
    const ifNoneMatch = req.headers["if-none-match"]
    const ifMatch = req.headers["if-match"]
    if (ifNoneMatch === "*" && current !== null) return true
    return typeof ifMatch === "string" && ifMatch !== current
  }

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse | undefined): Promise<number> => {
    const key = keyOf(req)
    if (refused(req, key)) return Promise.resolve(preconditionFailed(res, key))
    return new Promise((resolve, reject) => {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host, "content-length": String(body.length) },
        },
        (upRes) => {
          const status = upRes.statusCode ?? 0
          if (key !== "" && status >= 200 && status < 300) {
            const etag = upRes.headers.etag
            if (req.method === "PUT" && req.headers["x-amz-copy-source"] === undefined && typeof etag === "string")
              etags.set(key, etag)
            if (req.method === "DELETE") etags.set(key, null)
          }
          if (res !== undefined && !res.destroyed && !res.headersSent) {
            res.writeHead(status, upRes.headers)
            upRes.pipe(res)
          } else upRes.resume()
          upRes.on("end", () => resolve(status))
          upRes.on("error", reject)
        },
      )
      out.on("error", (error) => {
        if (res !== undefined && !res.headersSent) res.destroy(error)
        reject(error)
      })
      out.end(body)
    })
  }

  const matching = (key: string): string | undefined => [...rules.keys()].find((suffix) => key.endsWith(suffix))

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://proxy")
      // Path-style: /bucket/key. A PutObject is a PUT on a key that is not a CopyObject, with
      // no query string but the SDK's own `x-id=PutObject` (multipart parts and other
      // sub-resources carry theirs).
      const key = decodeURIComponent(url.pathname.split("/").slice(2).join("/"))
      const xid = url.searchParams.get("x-id")
      const plain = xid === null ? url.search === "" : xid === "PutObject" && [...url.searchParams.keys()].length === 1
      const isPutObject = req.method === "PUT" && key !== "" && plain && req.headers["x-amz-copy-source"] === undefined
      const body = await readBody(req)
      if (!isPutObject) return void (await forward(req, body, res).catch(() => undefined))
      seen.push(key)
      const suffix = matching(key)
      const rule = suffix === undefined ? undefined : rules.get(suffix)
      if (suffix === undefined || rule === undefined) return void (await forward(req, body, res).catch(() => undefined))
      rules.delete(suffix)
      if (rule._tag === "Delay") {
        await new Promise((r) => setTimeout(r, rule.ms))
        return void (await forward(req, body, res).catch(() => undefined))
      }
      let connected = true
      res.on("close", () => {
        connected = false
      })
      let settled = false
      const held: Held = {
        key,
        body,
        at: Date.now(),
        clientConnected: () => connected && !res.destroyed,
        release: () => {
          if (settled) return Promise.reject(new Error(`the put of ${key} was already released or dropped`))
          settled = true
          return forward(req, body, res)
        },
        drop: () => {
          settled = true
          if (!res.destroyed) res.destroy()
        },
      }
      const next = waiting.get(suffix)?.shift()
      if (next !== undefined) next(held)
      else heldQueue.set(suffix, [...(heldQueue.get(suffix) ?? []), held])
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    rule: (keySuffix, rule) => {
      rules.set(keySuffix, rule)
    },
    held: (keySuffix) => {
      const ready = heldQueue.get(keySuffix)?.shift()
      if (ready !== undefined) return Promise.resolve(ready)
      return new Promise((resolve) => waiting.set(keySuffix, [...(waiting.get(keySuffix) ?? []), resolve]))
    },
    puts: () => [...seen],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
