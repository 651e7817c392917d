/**
 * `Doctor` against the local stack: a table made from `Table.definition` passes,
 * a deliberately wrong one fails naming each difference, and a bucket without
 * an event notification fails the delivery check. The comparisons themselves
 * (delivery, function environment, metrics) are checked on AWS's answer shapes.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import * as Testing from "@docket/local/Testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as DocketConfig from "../src/DocketConfig.js"
import * as Doctor from "../src/Doctor.js"
import * as Expect from "../src/internal/doctor.js"
import * as Table from "../src/Table.js"

const byName = (checks: ReadonlyArray<Doctor.Check>) => Object.fromEntries(checks.map((c) => [c.name, c]))

const doctorOn = (isolated: Testing.Isolated, table: string, extra: Partial<Doctor.Options> = {}) =>
  Doctor.run({
    settings: DocketConfig.make({
      table,
      bucket: isolated.bucket,
      region: isolated.clientConfig.s3.region,
      dynamodbEndpoint: Option.some(isolated.clientConfig.dynamodb.endpoint),
      s3Endpoint: Option.some(isolated.clientConfig.s3.endpoint),
    }),
    clients: {
      dynamodb: { credentials: isolated.clientConfig.dynamodb.credentials },
      s3: { credentials: isolated.clientConfig.s3.credentials },
    },
    ...extra,
  })

describe("Doctor on the local stack", () => {
  it.live("a table made from the definition passes; a bucket without event notification fails delivery", () =>
    Effect.gen(function* () {
      const isolated = yield* Effect.promise(() => Testing.isolated("doctor-good"))
      const checks = byName(yield* doctorOn(isolated, isolated.table))
      expect(checks.configuration!.status).toBe("pass")
      expect(checks.credentials!.status).toBe("pass")
      expect(checks.credentials!.summary).toMatch(/^access key dock…ocal/)
      expect(checks.dynamodb!.status).toBe("pass")
      expect(checks.s3!.status).toBe("pass")
      expect(checks.table!).toMatchObject({ status: "pass", details: [] })
      expect(checks.delivery!.status).toBe("fail")
      expect(checks.delivery!.summary).toMatch(/sends no object events/)
      expect(checks.function!.status).toBe("skip")
      expect(checks.metrics!.status).toBe("skip")
      expect(Doctor.allPassed(Object.values(checks))).toBe(false)
    }),
  )

  it.live("a deliberately wrong table fails, naming the keys, the index, the projection, TTL and billing", () =>
    Effect.gen(function* () {
      const isolated = yield* Effect.promise(() => Testing.isolated("doctor-bad"))
      const wrong = `${isolated.table}-wrong`
      const good = Table.createTableInput(wrong)
      const client = new DynamoDBClient(isolated.clientConfig.dynamodb)
      yield* Effect.promise(() =>
        client.send(
          new CreateTableCommand({
            ...good,
            BillingMode: "PROVISIONED",
            ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
            KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
            GlobalSecondaryIndexes: good
              .GlobalSecondaryIndexes!.filter((i) => i.IndexName !== "StatusTimeIndex")
              .map((i) => ({
                ...i,
                ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
                ...(i.IndexName === "CustomerTimeIndex"
                  ? { Projection: { ProjectionType: "KEYS_ONLY" as const } }
                  : {}),
              })),
            AttributeDefinitions: good.AttributeDefinitions!.filter(
              (a) => a.AttributeName !== "sk" && !a.AttributeName!.startsWith("status"),
            ),
          }),
        ),
      )
      client.destroy()
      const checks = byName(yield* doctorOn(isolated, wrong))
      const table = checks.table!
      expect(table.status).toBe("fail")
      expect(table.details).toEqual(
        expect.arrayContaining([
          "keys: expected pk (HASH) + sk (RANGE), found pk (HASH) + none (RANGE)",
          "index StatusTimeIndex: missing (queries by statusPk fail)",
          expect.stringMatching(/^index CustomerTimeIndex: projection KEYS_ONLY, expected INCLUDE of kind, id/),
          "TTL: expected ENABLED on expiresAt, found DISABLED",
          "billing: expected PAY_PER_REQUEST (on-demand), found PROVISIONED",
        ]),
      )
      // A table that does not exist is a failed check that says so, not a crash.
      const missing = byName(yield* doctorOn(isolated, `${isolated.table}-none`))
      expect(missing.table!.status).toBe("fail")
      expect(missing.table!.details.join(" ")).toMatch(/ResourceNotFoundException/)
      // An unreachable endpoint fails reachability, and the run still ends.
      const down = byName(
        yield* Doctor.run({
          settings: DocketConfig.make({
            bucket: isolated.bucket,
            dynamodbEndpoint: Option.some("http://127.0.0.1:9"),
            s3Endpoint: Option.some("http://127.0.0.1:9"),
          }),
          clients: {
            dynamodb: { credentials: isolated.clientConfig.dynamodb.credentials },
            s3: { credentials: isolated.clientConfig.s3.credentials },
          },
        }),
      )
      expect([down.dynamodb!.status, down.s3!.status]).toStrictEqual(["fail", "fail"])
      expect(down.dynamodb!.details.join(" ")).toMatch(/ECONNREFUSED|connect/i)
    }),
  )
})

describe("Doctor's comparisons", () => {
  const settings = DocketConfig.make({ bucket: "docs", table: "docket-prod", prefix: "tenant/" })

  it("event delivery: to the function, the queue or EventBridge, both event families, a prefix that covers the documents", () => {
    const fn = "arn:aws:lambda:eu-west-1:123456789012:function:docket-sync"
    const lambda = (events: Array<string>, prefix?: string) => ({
      LambdaFunctionConfigurations: [
        {
          LambdaFunctionArn: fn,
          Events: events as never,
          ...(prefix !== undefined
            ? { Filter: { Key: { FilterRules: [{ Name: "prefix" as const, Value: prefix }] } } }
            : {}),
        },
      ],
    })
    expect(
      Expect.delivery(lambda(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], "tenant/"), {
        prefix: "tenant/",
        functionName: "docket-sync",
      }).status,
    ).toBe("pass")
    expect(Expect.delivery(lambda(["s3:ObjectCreated:*"]), { prefix: "tenant/" }).details).toStrictEqual([
      "no route sends s3:ObjectRemoved:* (deleted documents stay in the cache)",
    ])
    expect(
      Expect.delivery(lambda(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], "other/"), { prefix: "tenant/" }).details,
    ).toStrictEqual([`function ${fn}: filter prefix "other/" excludes the documents under "tenant/"`])
    expect(
      Expect.delivery(lambda(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]), { prefix: "", functionName: "another" })
        .status,
    ).toBe("fail")
    expect(Expect.delivery({ EventBridgeConfiguration: {} }, { prefix: "" }).status).toBe("pass")
    const queue = "arn:aws:sqs:eu-west-1:123456789012:docket-events"
    const q = {
      QueueConfigurations: [{ QueueArn: queue, Events: ["s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete"] as never }],
    }
    expect(Expect.delivery(q, { prefix: "", queueArn: queue }).status).toBe("pass")
    expect(Expect.delivery(q, { prefix: "", queueArn: `${queue}-2` }).status).toBe("fail")
  })

  it("the function's environment must describe the same deployment; unknown DOCKET_ variables are flagged", () => {
    const good = { DOCKET_TABLE: "docket-prod", DOCKET_BUCKET: "docs", DOCKET_PREFIX: "tenant/" }
    expect(Expect.environment(settings, good, "docket-sync", DocketConfig.environmentVariables).status).toBe("pass")
    const bad = Expect.environment(
      settings,
      { DOCKET_TABLE: "docket-staging", DOCKET_BUCKET: "docs", DOCKET_TTL_DAYS: "30", DOCKET_DRYRUN: "true" },
      "docket-sync",
      DocketConfig.environmentVariables,
    )
    expect(bad.status).toBe("fail")
    expect(bad.details).toStrictEqual([
      'DOCKET_TABLE is "docket-staging", expected "docket-prod"',
      'DOCKET_PREFIX is "", expected "tenant/"',
      'DOCKET_TTL_DAYS is "30", expected "365"',
      "DOCKET_DRYRUN is not a variable Docket reads (a typo?)",
    ])
  })

  it("metrics: recent data for this table in the namespace", () => {
    const m = (table: string) => ({
      MetricName: "CacheHits",
      Dimensions: [
        { Name: "Service", Value: "docket" },
        { Name: "Table", Value: table },
      ],
    })
    expect(Expect.metrics("Docket", "docket-prod", [m("docket-prod")]).status).toBe("pass")
    expect(Expect.metrics("Docket", "docket-prod", [m("other")]).details?.[0]).toMatch(/none with Table=docket-prod/)
    expect(Expect.metrics("Docket", "docket-prod", []).status).toBe("fail")
    expect(Expect.configuration(DocketConfig.make({ bucket: "Bad_Bucket", prefix: "x" })).details).toStrictEqual([
      'DOCKET_BUCKET "Bad_Bucket" is not a valid bucket name',
      'DOCKET_PREFIX "x" does not end with "/" (keys would read xchanges/...)',
    ])
  })
})
