import * as DocketConfig from "@docket/core/DocketConfig"
import * as DocumentCache from "@docket/core/DocumentCache"
import * as DocumentKind from "@docket/core/DocumentKind"
import * as DocumentStore from "@docket/core/DocumentStore"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as ScheduledTask from "../src/ScheduledTask.js"
import * as Handlers from "./support/Handlers.js"

const bucket = "docs"
const prefix = "team/"

const change = Handlers.change

const announcement = (id: string, version = 1) => ({
  kind: "announcement",
  id,
  version,
  type: "general",
  title: `Announcement ${id}`,
  customers: ["acme"],
  status: "published",
  publishAt: "2026-11-20T09:00:00Z",
  createdAt: "2026-11-01T10:00:00Z",
  updatedAt: "2026-11-01T10:00:00Z",
})

/**
 * S3 holds CHG-1 (v2), CHG-2 and ANN-1; the cache holds CHG-1 at v1 (stale),
 * misses CHG-2 and ANN-1 (missing), and has CHG-9 and ANN-9, which S3 does
 * not (orphans): drift in both kinds' slices.
 */
const setup = (options: { readonly failPuts?: boolean } = {}) =>
  Effect.gen(function* () {
    // The memory cache has no scan: orphans are found by a time query over the retention window around "now".
    yield* TestClock.setTime(Date.parse("2026-11-24T00:00:00Z"))
    const settings = DocketConfig.make({ bucket, prefix, maxAttempts: 1 })
    const base = Layer.merge(DocketConfig.layer(settings), DocumentKind.layerDefault)
    const kinds = yield* DocumentKind.DocumentKinds
    const store = yield* DocumentStore.makeMemory({ bucket, prefix })
    const cache = yield* DocumentCache.makeMemory()
    const decode = (doc: unknown) => Effect.orDie(kinds.decode(doc, "test"))
    for (const doc of [change("CHG-1", 2), change("CHG-2"), announcement("ANN-1")]) yield* store.put(yield* decode(doc))
    for (const doc of [change("CHG-1", 1), change("CHG-9"), announcement("ANN-9")]) {
      yield* cache.put(yield* decode(doc), { s3Key: store.keyOf(doc.kind, doc.id) })
    }
    const logs: Array<Record<string, unknown>> = []
    const logger = Logger.make(({ annotations }) => {
      logs.push(Object.fromEntries(annotations))
    })
    const { console: capture, lines } = yield* Handlers.capturedConsole
    const failing = options.failPuts ? Handlers.failingPuts(cache, "AccessDenied") : cache
    const layer = Handlers.layer({ store, cache: failing, logging: Logger.replace(Logger.defaultLogger, logger), base })
    const run = (event: unknown) =>
      ScheduledTask.handle(event, { awsRequestId: "req-schedule" }).pipe(
        Effect.provide(layer),
        Effect.withConsole(capture),
        Effect.exit,
      )
    const version = (kind: string, id: string) =>
      cache
        .get(kind, id)
        .pipe(Effect.map((e) => (Option.isSome(e) && e.value._tag === "Cached" ? e.value.summary.version : undefined)))
    return { run, version, logs, lines }
  }).pipe(Effect.provide(DocumentKind.layerDefault))

const failure = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("ScheduledTask", () => {
  it("tells scheduled tasks from S3 events", () => {
    expect(ScheduledTask.isScheduledTask({ docket: "reconcile" })).toBe(true)
    expect(ScheduledTask.isScheduledTask({ Records: [] })).toBe(false)
    expect(ScheduledTask.isScheduledTask({ source: "aws.s3", "detail-type": "Object Created" })).toBe(false)
    expect(ScheduledTask.isScheduledTask(null)).toBe(false)
  })

  it.effect(
    "reconcile of one slice repairs that slice's drift (missing, stale, orphaned) and leaves the others alone",
    () =>
      Effect.gen(function* () {
        const { run, version } = yield* setup()
        const exit = yield* run({ docket: "reconcile", slice: "changes/", fix: true })
        expect(Exit.isSuccess(exit)).toBe(true)
        const report = Exit.isSuccess(exit) && exit.value.task === "reconcile" ? exit.value : undefined
        expect(report).toMatchObject({ task: "reconcile", slice: "changes/", objects: 2, documents: 2, fix: true })
        expect(report?.counts).toMatchObject({ missing: 1, stale: 1, orphaned: 1 })
        expect(report?.fixed).toBe(3)
        expect(yield* version("change", "CHG-1")).toBe(2)
        expect(yield* version("change", "CHG-2")).toBe(1)
        expect(yield* version("change", "CHG-9")).toBeUndefined()
        // Outside the slice: untouched, and not even looked at.
        expect(yield* version("announcement", "ANN-1")).toBeUndefined()
        expect(yield* version("announcement", "ANN-9")).toBe(1)
      }),
  )

  it.effect("the empty slice is the whole prefix; fix: false reports the drift and changes nothing", () =>
    Effect.gen(function* () {
      const { run, version } = yield* setup()
      const dry = yield* run({ docket: "reconcile", slice: "", fix: false })
      const report = Exit.isSuccess(dry) && dry.value.task === "reconcile" ? dry.value : undefined
      expect(report?.counts).toMatchObject({ missing: 2, stale: 1, orphaned: 2 })
      expect(report?.fixed).toBe(0)
      expect(yield* version("change", "CHG-1")).toBe(1)
      const all = yield* run({ docket: "reconcile" })
      const fixed = Exit.isSuccess(all) ? all.value : undefined
      expect(fixed).toMatchObject({ slice: "", fix: true, fixed: 5, fixFailed: 0 })
      expect(yield* version("announcement", "ANN-1")).toBe(1)
      expect(yield* version("announcement", "ANN-9")).toBeUndefined()
    }),
  )

  it.effect("fails (so Lambda retries and dead-letters it) when a repair failed, naming the key", () =>
    Effect.gen(function* () {
      const { run } = yield* setup({ failPuts: true })
      const error = failure(yield* run({ docket: "reconcile", slice: "changes/" }))
      expect(error?._tag).toBe("ScheduledTaskError")
      expect(error?.reason).toBe("RepairsFailed")
      expect(error?.message).toContain("team/changes/CHG-")
    }),
  )

  it.effect("an unknown task or an unknown field fails with what was wrong", () =>
    Effect.gen(function* () {
      const { run } = yield* setup()
      const unknown = failure(yield* run({ docket: "reindex" }))
      expect(unknown?.reason).toBe("InvalidTask")
      expect(unknown?.message).toContain("reindex")
      const typo = failure(yield* run({ docket: "reconcile", slices: "changes/" }))
      expect(typo?.reason).toBe("InvalidTask")
      expect(typo?.message).toContain("slices")
    }),
  )

  it.effect("logs one lambda.scheduled line with the drift counts and the request id", () =>
    Effect.gen(function* () {
      const { run, logs } = yield* setup()
      yield* run({ docket: "reconcile", slice: "announcements/" })
      const line = logs.find((l) => l.operation === "lambda.scheduled")
      expect(line).toMatchObject({
        outcome: "ok",
        task: "reconcile",
        slice: "announcements/",
        requestId: "req-schedule",
        missing: 1,
        orphaned: 1,
        drift: 2,
        fixed: 2,
      })
      expect(typeof line?.durationMs).toBe("number")
    }),
  )
})
