// The k-way merge behind a status query without a kind (src/internal/merge.ts): one
// sorted stream per kind's partition, interleaved in order, whatever their chunking.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { mergeSorted } from "../src/internal/merge.js"

const byNumber = (a: number, b: number) => a - b

/** A sorted source cut into the given chunk sizes (the rest in one last chunk). */
const source = (values: ReadonlyArray<number>, cuts: ReadonlyArray<number>): Stream.Stream<number> => {
  const chunks: Array<Chunk.Chunk<number>> = []
  let at = 0
  for (const cut of cuts) {
    if (at >= values.length) break
    chunks.push(Chunk.unsafeFromArray(values.slice(at, at + cut)))
    at += cut
  }
  if (at < values.length) chunks.push(Chunk.unsafeFromArray(values.slice(at)))
  return Stream.fromChunks(...chunks)
}

const collect = <E>(stream: Stream.Stream<number, E>) => Effect.map(Stream.runCollect(stream), (c) => Array.from(c))

describe("mergeSorted", () => {
  it.effect.prop(
    "merging sorted streams of any chunking gives every element once, in order",
    [
      fc.array(
        fc.record({
          values: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 }),
          cuts: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 6 }),
        }),
        { minLength: 0, maxLength: 5 },
      ),
    ],
    ([sources]) =>
      Effect.gen(function* () {
        const sorted = sources.map(({ values, cuts }) => ({ values: [...values].sort(byNumber), cuts }))
        const merged = yield* collect(
          mergeSorted(
            sorted.map(({ values, cuts }) => source(values, cuts)),
            byNumber,
          ),
        )
        expect(merged).toStrictEqual(sorted.flatMap((s) => s.values).sort(byNumber))
      }),
    { fastCheck: { numRuns: 60 } },
  )

  it.effect("a source that ends early leaves the others to finish; empty chunks are skipped", () =>
    Effect.gen(function* () {
      const merged = yield* collect(
        mergeSorted(
          [
            Stream.fromChunks(Chunk.empty(), Chunk.make(1), Chunk.empty(), Chunk.make(4)),
            Stream.empty,
            Stream.make(2, 3, 5, 6),
          ],
          byNumber,
        ),
      )
      expect(merged).toStrictEqual([1, 2, 3, 4, 5, 6])
      // Ties keep every element.
      expect(yield* collect(mergeSorted([Stream.make(1, 2), Stream.make(1, 2)], byNumber))).toStrictEqual([1, 1, 2, 2])
      expect(yield* collect(mergeSorted([], byNumber))).toStrictEqual([])
    }),
  )

  it.effect("a failing source fails the merge with its error", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        collect(
          mergeSorted([Stream.make(1, 3), Stream.concat(Stream.make(2), Stream.fail("boom" as const))], byNumber),
        ),
      )
      expect(exit).toStrictEqual(Exit.fail("boom"))
    }),
  )

  it.effect("one source is returned as it is", () =>
    Effect.gen(function* () {
      const only = Stream.make(3, 1, 2)
      expect(mergeSorted([only], byNumber)).toBe(only)
      expect(yield* collect(mergeSorted([only], byNumber))).toStrictEqual([3, 1, 2])
    }),
  )
})
