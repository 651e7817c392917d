import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as EventHandler from "../src/EventHandler.js"

const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
const ids = (o: Option.Option<{ readonly traceId: string; readonly spanId: string }>) =>
  Option.map(o, (s) => [s.traceId, s.spanId])

describe("EventHandler.invocationParent", () => {
  it("continues a traceparent, else Lambda's _X_AMZN_TRACE_ID, else the SQS message's AWSTraceHeader", () => {
    const sqs = (attributes: Record<string, unknown>, messageAttributes: Record<string, unknown> = {}) => ({
      Records: [{ messageId: "m", eventSource: "aws:sqs", body: "{}", attributes, messageAttributes }],
    })
    expect(ids(EventHandler.invocationParent({ traceparent, Records: [] }, { _X_AMZN_TRACE_ID: xray }))).toEqual(
      Option.some(["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"]),
    )
    expect(
      ids(
        EventHandler.invocationParent(sqs({}, { traceparent: { stringValue: traceparent, dataType: "String" } }), {}),
      ),
    ).toEqual(Option.some(["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"]))
    expect(ids(EventHandler.invocationParent({ Records: [] }, { _X_AMZN_TRACE_ID: xray }))).toEqual(
      Option.some(["5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"]),
    )
    expect(ids(EventHandler.invocationParent(sqs({ AWSTraceHeader: xray }), {}))).toEqual(
      Option.some(["5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"]),
    )
    expect(EventHandler.invocationParent({ Records: [] }, {})).toEqual(Option.none())
    expect(EventHandler.invocationParent(null, { _X_AMZN_TRACE_ID: "Root=garbage" })).toEqual(Option.none())
  })
})
