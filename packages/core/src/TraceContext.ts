/**
 * Continuing the trace a process was invoked in: a W3C `traceparent`
 * (`00-{trace id}-{parent id}-{flags}`) or an AWS X-Ray trace header
 * (`Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled=1`, as in Lambda's
 * `_X_AMZN_TRACE_ID` and SQS's `AWSTraceHeader`) becomes the parent span of
 * what the process does. Exporting the spans is `Tracing`'s job.
 *
 * @example
 * ```ts
 * import * as TraceContext from "@docket/core/TraceContext"
 * program.pipe(TraceContext.withParent(TraceContext.fromTraceparent(headers.traceparent)))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

const hex = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`)
const traceIdPattern = hex(32)
const spanIdPattern = hex(16)

/** A W3C `traceparent` (`00-{trace id}-{parent id}-{flags}`) as a parent span; `None` when malformed. */
export const fromTraceparent = (header: string | undefined): Option.Option<Tracer.ExternalSpan> => {
  if (header === undefined) return Option.none()
  const [version, traceId, spanId, flags] = header.trim().toLowerCase().split("-")
  if (version === undefined || version === "ff" || traceId === undefined || spanId === undefined) return Option.none()
  if (!traceIdPattern.test(traceId) || !spanIdPattern.test(spanId) || /^0+$/.test(traceId) || /^0+$/.test(spanId)) {
    return Option.none()
  }
  const sampled = flags === undefined ? true : (Number.parseInt(flags, 16) & 1) === 1
  return Option.some(Tracer.externalSpan({ traceId, spanId, sampled }))
}

/**
 * An AWS X-Ray trace header (`Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled=1`)
 * as a parent span: the W3C trace id is the root's two hex parts joined, the way
 * X-Ray and OpenTelemetry's AWS propagator map them. `None` without a `Parent`.
 */
export const fromXRay = (header: string | undefined): Option.Option<Tracer.ExternalSpan> => {
  if (header === undefined) return Option.none()
  const fields = new Map(
    header.split(";").map((part) => {
      const at = part.indexOf("=")
      return [
        part.slice(0, at).trim().toLowerCase(),
        part
          .slice(at + 1)
          .trim()
          .toLowerCase(),
      ] as const
    }),
  )
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(fields.get("root") ?? "")
  const parent = fields.get("parent") ?? ""
  if (root === null || !spanIdPattern.test(parent)) return Option.none()
  return Option.some(
    Tracer.externalSpan({ traceId: `${root[1]}${root[2]}`, spanId: parent, sampled: fields.get("sampled") !== "0" }),
  )
}

/** Runs `self` as a child of `parent` when there is one. */
export const withParent =
  (parent: Option.Option<Tracer.AnySpan>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Option.isSome(parent) ? Effect.withParentSpan(self, parent.value) : self
