// The external sort and merge-join behind reconcile (src/internal/sort.ts): whatever the run
// size (nothing spilled, one side spilled, both), the join is the full outer join by key, in
// key order, each side's items of a key kept.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import * as Sort from "../src/internal/sort.js"

interface Item {
  readonly k: string
  readonly n: number
}

const side = fc.array(fc.record({ k: fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h"), n: fc.nat(99) }), {
  maxLength: 40,
})

/** The full outer join by key, in key order, each side's items in a canonical order. */
const expected = (left: ReadonlyArray<Item>, right: ReadonlyArray<Item>) =>
  [...new Set([...left, ...right].map((x) => x.k))].sort().map((key) => ({
    key,
    left: left
      .filter((x) => x.k === key)
      .map((x) => x.n)
      .sort((a, b) => a - b),
    right: right
      .filter((x) => x.k === key)
      .map((x) => x.n)
      .sort((a, b) => a - b),
  }))

describe("Sort", () => {
  it.effect.prop(
    "joinStream is the full outer join by key, in key order, spilled or not",
    [side, side, fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 })],
    ([left, right, leftRun, rightRun]) =>
      Effect.scoped(
        Effect.gen(function* () {
          const l = yield* Sort.spill(Stream.fromIterable(left), { key: (x: Item) => x.k, runSize: leftRun }, (e) => e)
          const r = yield* Sort.spill(
            Stream.fromIterable(right),
            { key: (x: Item) => x.k, runSize: rightRun },
            (e) => e,
          )
          expect(l.inMemory !== undefined).toBe(left.length < leftRun)
          const rows = Chunk.toReadonlyArray(
            yield* Stream.runCollect(
              Sort.joinStream(
                l,
                r,
                (x) => x.k,
                (x) => x.k,
                (e) => e,
              ),
            ),
          )
          expect(
            rows.map((row) => ({
              key: row.key,
              left: row.left.map((x) => x.n).sort((a, b) => a - b),
              right: row.right.map((x) => x.n).sort((a, b) => a - b),
            })),
          ).toStrictEqual(expected(left, right))
          for (const row of rows) {
            expect(row.left.every((x) => x.k === row.key) && row.right.every((x) => x.k === row.key)).toBe(true)
          }
        }),
      ),
    { fastCheck: { numRuns: 150 } },
  )

  it.effect("a join longer than one pulled batch (512 rows) is read to its end from spilled runs", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const items = Array.from({ length: 1300 }, (_, i) => ({ k: String(i).padStart(5, "0"), n: i })).reverse()
        const l = yield* Sort.spill(Stream.fromIterable(items), { key: (x: Item) => x.k, runSize: 300 }, (e) => e)
        const r = yield* Sort.spill(Stream.fromIterable(items.slice(0, 512)), { key: (x: Item) => x.k }, (e) => e)
        const rows = yield* Stream.runCollect(
          Sort.joinStream(
            l,
            r,
            (x) => x.k,
            (x) => x.k,
            (e) => e,
          ),
        )
        expect(Chunk.size(rows)).toBe(1300)
        expect(Chunk.toReadonlyArray(rows).filter((row) => row.right.length === 1).length).toBe(512)
        expect(Chunk.toReadonlyArray(rows).map((row) => row.key)).toStrictEqual(items.map((x) => x.k).reverse())
      }),
    ),
  )
})
