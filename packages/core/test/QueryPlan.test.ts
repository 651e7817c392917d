// The query planner shared by every DocumentCache backend (src/internal/query.ts): what
// a user sees of it is the typed error that names what was wrong, the order, which
// summaries match, cursors that resume exactly and are refused when altered, and pages.
import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Document from "../src/Document.js"
import type { Query } from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as QueryPlan from "../src/internal/query.js"

const registry = DocumentKind.defaultRegistry
const range = { from: "2026-06-01", to: "2026-07-01T00:00:00+02:00" }
const time: Query = { target: { _tag: "Time" }, ...range }

const planOk = (query: Query): QueryPlan.Plan => Either.getOrThrow(QueryPlan.plan(query, registry))
const planError = (query: Query) => {
  const result = QueryPlan.plan(query, registry)
  if (Either.isRight(result)) throw new Error(`expected an InvalidQueryError for ${JSON.stringify(query)}`)
  return result.left
}

const summary = (over: Partial<Document.Summary> = {}): Document.Summary => ({
  kind: "change",
  id: "CHG-1",
  version: 1,
  title: "t",
  status: "approved",
  customers: ["acme"],
  time: "2026-06-10T00:00:00.000Z",
  ...over,
})

describe("QueryPlan", () => {
  it("normalises the range to instants and describes the query for log lines", () => {
    const plan = planOk(time)
    expect(plan.from).toBe("2026-06-01T00:00:00.000Z")
    expect(plan.to).toBe("2026-06-30T22:00:00.000Z")
    expect(plan.kind).toBeUndefined()
    expect(plan.kinds).toStrictEqual(["change", "announcement"])
    expect(plan.description).toBe("time [2026-06-01T00:00:00.000Z, 2026-06-30T22:00:00.000Z)")
    const customer = planOk({ target: { _tag: "Customer", customer: "acme" }, ...range, kind: "change" })
    expect(customer.kinds).toStrictEqual(["change"])
    expect(customer.kind).toBe("change")
    expect(customer.description).toBe("customer acme kind change [2026-06-01T00:00:00.000Z, 2026-06-30T22:00:00.000Z)")
    // A status only some kinds have: the plan reads only those kinds.
    const status = planOk({ target: { _tag: "Status", status: "approved" }, ...range })
    expect(status.kinds).toStrictEqual(["change"])
    expect(status.description).toBe("status approved [2026-06-01T00:00:00.000Z, 2026-06-30T22:00:00.000Z)")
    expect(planOk({ target: { _tag: "Status", status: "published" }, ...range }).kinds).toStrictEqual(["announcement"])
    expect(planOk({ target: { _tag: "Status", status: "draft" }, ...range }).kinds).toStrictEqual([
      "change",
      "announcement",
    ])
  })

  it("each bad query is an InvalidQueryError whose reason and detail name what is wrong", () => {
    const badFrom = planError({ ...time, from: "last tuesday" })
    expect(badFrom).toMatchObject({ _tag: "InvalidQueryError", reason: "BadRange" })
    expect(badFrom.message).toBe(
      'from "last tuesday" is not an ISO-8601 date (2026-11-01) or date-time with a zone (2026-11-01T09:00:00Z)',
    )
    expect(planError({ ...time, to: "2026-13-01" }).message).toMatch(/^to "2026-13-01" is not an ISO-8601 date/)
    expect(planError({ ...time, from: 7 as unknown as string }).message).toMatch(/^from 7 is not/)
    // Only strings: a String object that prints as a date is not one.
    expect(planError({ ...time, from: new String("2026-06-01") as unknown as string }).reason).toBe("BadRange")
    const empty = planError({ ...time, to: time.from })
    expect(empty.reason).toBe("BadRange")
    expect(empty.message).toBe("from (2026-06-01) must be before to (2026-06-01): the range is [from, to)")
    // Reversed, not only empty.
    expect(planError({ ...time, from: "2026-07-02" }).reason).toBe("BadRange")
    const kind = planError({ ...time, kind: "incident" })
    expect(kind.reason).toBe("UnknownKind")
    expect(kind.message).toBe('Unknown kind "incident": expected one of change, announcement')
    const customer = planError({ target: { _tag: "Customer", customer: "ACME!" }, ...range })
    expect(customer.reason).toBe("BadCustomer")
    expect(customer.message).toBe('Customer code "ACME!" does not match [a-z0-9][a-z0-9-]{1,31}')
    const status = planError({ target: { _tag: "Status", status: "nope" }, ...range })
    expect(status.reason).toBe("UnknownStatus")
    expect(status.message).toMatch(/^Unknown status "nope": expected one of /)
    // Every status of every kind, each once.
    const listed = status.message.replace('Unknown status "nope": expected one of ', "").split(", ")
    expect(new Set(listed).size).toBe(listed.length)
    expect([...listed].sort()).toStrictEqual(
      [...new Set([...DocumentKind.change.statuses, ...DocumentKind.announcement.statuses])].sort(),
    )
    const forKind = planError({ target: { _tag: "Status", status: "published" }, ...range, kind: "change" })
    expect(forKind.reason).toBe("UnknownStatus")
    expect(forKind.message).toBe(
      `Unknown status "published" for kind change: expected one of ${DocumentKind.change.statuses.join(", ")}`,
    )
  })

  it("fingerprints tell queries apart by target, value, range and kind", () => {
    const prints = [
      time,
      { ...time, kind: "change" },
      { ...time, kind: "announcement" },
      { ...time, from: "2026-06-02" },
      { ...time, to: "2026-07-02" },
      { target: { _tag: "Customer", customer: "acme" }, ...range },
      { target: { _tag: "Customer", customer: "globex" }, ...range },
      { target: { _tag: "Status", status: "draft" }, ...range },
      { target: { _tag: "Status", status: "approved" }, ...range },
    ].map((q) => planOk(q as Query).fingerprint)
    expect(new Set(prints).size).toBe(prints.length)
    for (const p of prints) expect(p).toMatch(/^[A-Za-z0-9_-]{16}$/)
    // The same query spelled with another zone is the same query.
    expect(planOk({ ...time, from: "2026-06-01T02:00:00+02:00" }).fingerprint).toBe(planOk(time).fingerprint)
  })

  it("a page limit is an integer from 1 to 1000", () =>
    Effect.gen(function* () {
      for (const ok of [1, 2, 999, 1000]) yield* QueryPlan.checkLimit(ok)
      for (const bad of [0, -1, 1001, 1.5, Number.NaN]) {
        const error = yield* Effect.flip(QueryPlan.checkLimit(bad))
        expect(error).toMatchObject({ _tag: "InvalidQueryError", reason: "BadLimit" })
        expect(error.message).toBe(`limit ${bad} must be an integer from 1 to 1000`)
      }
    }).pipe(Effect.runSync))

  it("orders by time, then kind, then id", () => {
    const at = (time: string, kind: string, id: string) => ({ time, kind, id })
    const sorted = [
      at("2026-01-01", "announcement", "A"),
      at("2026-01-01", "announcement", "B"),
      at("2026-01-01", "change", "A"),
      at("2026-01-02", "announcement", "A"),
    ]
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        expect(QueryPlan.compare(sorted[i]!, sorted[j]!)).toBe(Math.sign(i - j))
      }
    }
  })

  it("matches by half-open range, kind and target", () => {
    const plan = planOk(time)
    expect(QueryPlan.matches(plan, summary({ time: plan.from }))).toBe(true)
    expect(QueryPlan.matches(plan, summary({ time: "2026-05-31T23:59:59.999Z" }))).toBe(false)
    expect(QueryPlan.matches(plan, summary({ time: plan.to }))).toBe(false)
    expect(QueryPlan.matches(plan, summary({ time: "2026-06-30T21:59:59.999Z" }))).toBe(true)
    expect(QueryPlan.matches(planOk({ ...time, kind: "announcement" }), summary())).toBe(false)
    const acme = planOk({ target: { _tag: "Customer", customer: "acme" }, ...range })
    expect(QueryPlan.matches(acme, summary({ customers: ["globex", "acme"] }))).toBe(true)
    expect(QueryPlan.matches(acme, summary({ customers: ["globex"] }))).toBe(false)
    const approved = planOk({ target: { _tag: "Status", status: "approved" }, ...range })
    expect(QueryPlan.matches(approved, summary())).toBe(true)
    expect(QueryPlan.matches(approved, summary({ status: "draft" }))).toBe(false)
  })

  it("the cache is complete from an instant whose entries have not expired yet", () => {
    const day = 86_400_000
    const from = "2026-06-01T00:00:00.000Z"
    const expires = Date.parse(from) + 30 * day
    expect(QueryPlan.isComplete(from, 30, expires - 1)).toBe(true)
    expect(QueryPlan.isComplete(from, 30, expires)).toBe(false)
  })

  it("a cursor resumes at its position; anything else is a CursorError that says why", () => {
    const plan = planOk(time)
    const position = { time: "2026-06-10T00:00:00.000Z", kind: "change", id: "CHG-1" }
    const cursor = QueryPlan.encodeCursor(plan, position)
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(QueryPlan.decodeCursor(plan, cursor)).toStrictEqual(Either.right(position))
    const detail = (c: unknown, p = plan) => {
      const decoded = QueryPlan.decodeCursor(p, c as string)
      if (Either.isRight(decoded)) throw new Error(`accepted ${String(c)}`)
      expect(decoded.left.cursor).toBe(c)
      return decoded.left.detail
    }
    const [payload = "", tag = ""] = cursor.split(".")
    expect(detail(42)).toBe("not a cursor Docket issued")
    expect(detail(`${cursor}${"A".repeat(2049 - cursor.length)}`)).toBe("not a cursor Docket issued")
    // 2048 characters is still read (and found altered); 2049 is refused unread.
    expect(detail(`${cursor}${"A".repeat(2048 - cursor.length)}`)).toBe("the cursor was altered or truncated")
    expect(detail(payload)).toBe("not a cursor Docket issued")
    expect(detail(`${cursor}.x`)).toBe("not a cursor Docket issued")
    expect(detail(`${payload}+.${tag}`)).toBe("not a cursor Docket issued")
    expect(detail(`${payload}.${tag}=`)).toBe("not a cursor Docket issued")
    expect(detail(`.${tag}`)).toBe("the cursor was altered or truncated")
    expect(detail(`${payload}.`)).toBe("the cursor was altered or truncated")
    expect(detail(`${payload}.${tag.slice(0, -1)}`)).toBe("the cursor was altered or truncated")
    expect(detail(`${payload}.${tag[0] === "A" ? "B" : "A"}${tag.slice(1)}`)).toBe(
      "the cursor was altered or truncated",
    )
    expect(detail(cursor, planOk({ ...time, kind: "change" }))).toBe(
      "the cursor belongs to another query (range, target or kind differ)",
    )
    // Well-signed payloads Docket never writes (signed as Docket signs, with its key): not
    // JSON, not an object, another version, a field missing or of another type.
    const signed = (text: string) => {
      const p = Buffer.from(text).toString("base64url")
      return `${p}.${createHmac("sha256", "docket-cursor-v1").update(p).digest().subarray(0, 12).toString("base64url")}`
    }
    expect(signed(JSON.stringify({ v: 1, f: plan.fingerprint, t: position.time, k: "change", i: "CHG-1" }))).toBe(
      cursor,
    )
    expect(detail(signed("{not json"))).toBe("the cursor was altered or truncated")
    const fields = { v: 1, f: plan.fingerprint, t: position.time, k: "change", i: "CHG-1" }
    for (const value of [
      null,
      "text",
      { ...fields, v: 2 },
      { ...fields, f: 1 },
      { ...fields, t: 1 },
      { ...fields, k: null },
      { ...fields, i: 1 },
    ]) {
      expect(detail(signed(JSON.stringify(value)))).toBe("unsupported cursor version")
    }
    expect(detail(signed(JSON.stringify({ ...fields, f: "another" })))).toMatch(/another query/)
  })

  it("a page takes limit items after the cursor and a cursor only when more follow", () =>
    Effect.gen(function* () {
      const plan = planOk(time)
      const items = ["a", "b", "c", "d", "e"].map((id, i) => summary({ id, time: `2026-06-1${i}T00:00:00.000Z` }))
      const wanted: Array<number> = []
      const collect = QueryPlan.collectStream((after, want) => {
        wanted.push(want)
        return QueryPlan.strictlyAfter(after)(Stream.fromIterable(items))
      })
      const first = yield* QueryPlan.page(plan, { limit: 2 }, collect, true)
      expect(first.items.map((s) => s.id)).toStrictEqual(["a", "b"])
      expect(first.complete).toBe(true)
      expect(wanted).toStrictEqual([3])
      const cursor = Option.getOrThrow(first.cursor)
      expect(QueryPlan.decodeCursor(plan, cursor)).toStrictEqual(
        Either.right({ time: items[1]!.time, kind: "change", id: "b" }),
      )
      const second = yield* QueryPlan.page(plan, { limit: 2, cursor }, collect, false)
      expect(second.items.map((s) => s.id)).toStrictEqual(["c", "d"])
      expect(second.complete).toBe(false)
      const last = yield* QueryPlan.page(plan, { limit: 2, cursor: Option.getOrThrow(second.cursor) }, collect, true)
      expect(last.items.map((s) => s.id)).toStrictEqual(["e"])
      expect(Option.isNone(last.cursor)).toBe(true)
      // Exactly limit items left: no cursor (the peek found nothing more).
      const exact = yield* QueryPlan.page(plan, { limit: 5 }, collect, true)
      expect(exact.items).toHaveLength(5)
      expect(Option.isNone(exact.cursor)).toBe(true)
      expect(yield* Effect.flip(QueryPlan.page(plan, { limit: 0 }, collect, true))).toMatchObject({
        reason: "BadLimit",
      })
      expect(yield* Effect.flip(QueryPlan.page(plan, { limit: 2, cursor: "x" }, collect, true))).toMatchObject({
        _tag: "CursorError",
      })
    }).pipe(Effect.runSync))

  it("strictlyAfter drops the position itself and everything before it", () =>
    Effect.gen(function* () {
      const items = ["a", "b", "c"].map((id) => summary({ id }))
      const after = (id: string) =>
        Stream.runCollect(
          QueryPlan.strictlyAfter(Option.some({ time: items[0]!.time, kind: "change", id }))(
            Stream.fromIterable(items),
          ),
        ).pipe(Effect.map((c) => Array.from(c, (s) => s.id)))
      expect(yield* after("b")).toStrictEqual(["c"])
      expect(yield* after("a")).toStrictEqual(["b", "c"])
      expect(
        Array.from(yield* Stream.runCollect(QueryPlan.strictlyAfter(Option.none())(Stream.fromIterable(items)))),
      ).toHaveLength(3)
    }).pipe(Effect.runSync))

  it("toSummary keeps every field but expiresAt", () => {
    const s = summary({ customers: ["acme", "globex"] })
    expect(QueryPlan.toSummary({ ...s, expiresAt: 5 })).toStrictEqual(s)
  })
})
