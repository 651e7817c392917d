/**
 * Exporting Docket's spans over OpenTelemetry (OTLP/HTTP), through
 * `@effect/opentelemetry`'s own exporter (no OpenTelemetry SDK in the bundle).
 *
 * Every operation Docket logs is a span (see `OperationLog`); this module only
 * decides where they go. Tracing is **off** unless the standard variable
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
 * and `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turns it off
 * again. When off, {@link layerConfig} provides nothing and spans stay in
 * memory with effect's built-in tracer (their attributes are not even built).
 *
 * A process that was invoked inside a trace continues it with `TraceContext`
 * (W3C `traceparent`, AWS X-Ray headers); that module has no dependencies, so
 * a Lambda can import it eagerly and this one only when tracing is on.
 *
 * @example
 * ```ts
 * import * as Tracing from "@docket/core/Tracing"
 * program.pipe(Effect.provide(Tracing.layerConfig("my-service")), NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** Where spans go when tracing is on. */
export interface Settings {
  /** The OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly url: string
  /** `OTEL_SERVICE_NAME` (default: the caller's, e.g. `docket-cli`). */
  readonly serviceName: string
  /** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value,key2=value2` (e.g. an API key). Never logged. */
  readonly headers: Readonly<Record<string, string>>
}

/** The environment variables this module reads (all standard OpenTelemetry names). */
export const environmentVariables = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_SERVICE_NAME",
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
] as const

/** Parses `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values percent-decoded). */
export const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const part of text.split(",")) {
    const at = part.indexOf("=")
    if (at <= 0) continue
    const name = part.slice(0, at).trim()
    const value = part.slice(at + 1).trim()
    try {
      headers[name] = decodeURIComponent(value)
    } catch {
      headers[name] = value
    }
  }
  return headers
}

const optional = (name: string) => Config.option(Config.string(name))

/** Reads the tracing settings; `None` when tracing is off. */
export const config = (defaultServiceName: string): Config.Config<Option.Option<Settings>> =>
  Config.all({
    endpoint: optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
    tracesEndpoint: optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    headers: optional("OTEL_EXPORTER_OTLP_HEADERS"),
    serviceName: optional("OTEL_SERVICE_NAME"),
    disabled: optional("OTEL_SDK_DISABLED"),
    exporter: optional("OTEL_TRACES_EXPORTER"),
  }).pipe(
    Config.map((c): Option.Option<Settings> => {
      if (Option.getOrElse(c.disabled, () => "").toLowerCase() === "true") return Option.none()
      if (Option.getOrElse(c.exporter, () => "").toLowerCase() === "none") return Option.none()
      // The signal-specific variable is the full URL; the general one is a base the path is added to.
      const url = Option.orElse(
        Option.filter(c.tracesEndpoint, (u) => u !== ""),
        () =>
          Option.map(
            Option.filter(c.endpoint, (u) => u !== ""),
            (base) => `${base.replace(/\/+$/, "")}/v1/traces`,
          ),
      )
      return Option.map(url, (u) => ({
        url: u,
        serviceName: Option.getOrElse(c.serviceName, () => defaultServiceName),
        headers: Option.match(c.headers, { onNone: () => ({}), onSome: parseHeaders }),
      }))
    }),
  )

/**
 * Exports spans to `settings.url` as OTLP/HTTP JSON, in batches; the last batch
 * is sent when the layer is released (a CLI command's end, a Lambda
 * invocation's end), waiting at most 3 seconds for the collector.
 */
export const layer = (settings: Settings, options: { readonly serviceVersion?: string } = {}): Layer.Layer<never> =>
  OtlpTracer.layer({
    url: settings.url,
    resource: {
      serviceName: settings.serviceName,
      ...(options.serviceVersion !== undefined ? { serviceVersion: options.serviceVersion } : {}),
    },
    headers: settings.headers,
    exportInterval: "1 second",
    shutdownTimeout: "3 seconds",
  }).pipe(Layer.provide(Layer.merge(OtlpSerialization.layerJson, FetchHttpClient.layer)))

/** {@link layer} when the environment turns tracing on; nothing otherwise. */
export const layerConfig = (defaultServiceName: string): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(config(defaultServiceName), (settings) =>
      Option.match(settings, { onNone: () => Layer.empty, onSome: (s) => layer(s) }),
    ),
  )
