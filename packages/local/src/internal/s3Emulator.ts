/**
 * The S3 emulator (fauxqs) in-process on a free loopback port, reporting every
 * successful object create and delete it serves, from any client: what the
 * local stack turns into S3 event notifications. Throws when it cannot listen
 * (`LocalStack` reports that as `S3DidNotStart`).
 */
import { buildApp } from "fauxqs"

const region = "us-east-1"

/** A S3 object change the emulator served (for local event notifications). */
export interface ObjectChange {
  readonly type: "created" | "deleted"
  readonly bucket: string
  /** The decoded key. */
  readonly key: string
  /** The HTTP method and status of the request that caused it. */
  readonly method: string
  readonly time: Date
  /** What S3 would name the operation in an event: `Put`, `Copy`, `CompleteMultipartUpload`, `Delete`. */
  readonly operation?: "Put" | "Copy" | "CompleteMultipartUpload" | "Delete"
  /** The object's ETag, when the response carried it (PUT). */
  readonly etag?: string
  /** The object's size in bytes, when the request said it (PUT). */
  readonly size?: number
}

/** Starts the emulator; `onChange` hears of every object change. */
export const start = async (onChange: (change: ObjectChange) => void) => {
  const app = buildApp({ logger: false, defaultRegion: region })
  app.addHook("onResponse", async (request, reply) => {
    if (reply.statusCode < 200 || reply.statusCode >= 300) return
    const method = request.method
    const url = new URL(request.url, "http://localhost")
    const query = url.searchParams
    const parts = url.pathname.split("/").slice(1)
    const bucket = decodeURIComponent(parts[0] ?? "")
    const key = parts
      .slice(1)
      .map((p) => decodeURIComponent(p))
      .join("/")
    if (key === "") {
      // POST /bucket?delete: DeleteObjects; the deleted keys are in the request body.
      if (method === "POST" && query.has("delete")) {
        const body =
          typeof request.body === "string" ? request.body : Buffer.isBuffer(request.body) ? request.body.toString() : ""
        for (const match of body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) {
          onChange({
            type: "deleted",
            bucket,
            key: unescapeXml(match[1] ?? ""),
            method,
            time: new Date(),
            operation: "Delete",
          })
        }
      }
      return
    }
    if (method === "PUT" && !query.has("uploadId") && !query.has("tagging") && !query.has("acl")) {
      const etag = reply.getHeader("etag")
      // aws-chunked uploads (the SDK's default checksums) say the object's size in x-amz-decoded-content-length.
      const length = Number(request.headers["x-amz-decoded-content-length"] ?? request.headers["content-length"])
      const copy = request.headers["x-amz-copy-source"] !== undefined
      onChange({
        type: "created",
        bucket,
        key,
        method,
        time: new Date(),
        operation: copy ? "Copy" : "Put",
        ...(typeof etag === "string" ? { etag: etag.replace(/"/g, "") } : {}),
        ...(!copy && Number.isFinite(length) ? { size: length } : {}),
      })
    } else if (method === "POST" && query.has("uploadId")) {
      onChange({ type: "created", bucket, key, method, time: new Date(), operation: "CompleteMultipartUpload" })
    } else if (method === "DELETE" && !query.has("uploadId") && !query.has("tagging")) {
      onChange({ type: "deleted", bucket, key, method, time: new Date(), operation: "Delete" })
    }
  })
  await app.listen({ port: 0, host: "127.0.0.1" })
  const address = app.server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => app.close() }
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, "&")
