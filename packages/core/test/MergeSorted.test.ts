// The k-way merges behind a status query (src/internal/merge.ts): one sorted source per
// kind's partition and shard, interleaved in order, whatever their chunking or paging.
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { mergeSorted, type PagedSource, pagedMerge } from "../src/internal/merge.js"

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

/** A sorted source read in pages of the given sizes (the rest in one last page); counts its reads. */
const paged = (
  values: ReadonlyArray<number>,
  cuts: ReadonlyArray<number>,
  reads: Array<number>,
  index: number,
): PagedSource<number, number, never, never> => {
  const pages: Array<ReadonlyArray<number>> = []
  let at = 0
  for (const cut of cuts) {
    if (at >= values.length) break
    pages.push(values.slice(at, at + cut))
    at += cut
  }
  if (at < values.length || pages.length === 0) pages.push(values.slice(at))
  return (start) =>
    Effect.sync(() => {
      const page = start ?? 0
      reads[index] = (reads[index] ?? 0) + 1
      return [pages[page] ?? [], page + 1 < pages.length ? page + 1 : undefined] as const
    })
}

/** Runs a paged merge until it ends, or until `limit` elements came out. */
const drain = <E>(next: Effect.Effect<ReadonlyArray<number>, E>, limit = Number.POSITIVE_INFINITY) =>
  Effect.gen(function* () {
    const out: Array<number> = []
    while (out.length < limit) {
      const batch = yield* next
      if (batch.length === 0) break
      out.push(...batch)
    }
    return out
  })

describe("pagedMerge", () => {
  it.effect.prop(
    "merging sorted paged sources gives every element once, in order, whatever the paging (empty pages too)",
    [
      fc.array(
        fc.record({
          values: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 12 }),
          cuts: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 6 }),
        }),
        { minLength: 0, maxLength: 8 },
      ),
    ],
    ([sources]) =>
      Effect.gen(function* () {
        const sorted = sources.map(({ values, cuts }) => ({ values: [...values].sort(byNumber), cuts }))
        const reads: Array<number> = []
        const merged = yield* drain(
          pagedMerge(
            sorted.map(({ values, cuts }, i) => paged(values, cuts, reads, i)),
            byNumber,
          ),
        )
        expect(merged).toStrictEqual(sorted.flatMap((s) => s.values).sort(byNumber))
      }),
    { fastCheck: { numRuns: 60 } },
  )

  it.effect("a source's next page is read only when the merge cannot go on without it", () =>
    Effect.gen(function* () {
      const reads: Array<number> = []
      // Source 0 holds the smallest elements over three pages; source 1 has one page of large ones.
      const next = pagedMerge([paged([1, 2, 3, 4, 5, 6], [2, 2, 2], reads, 0), paged([10, 11], [], reads, 1)], byNumber)
      expect(yield* drain(next, 3)).toStrictEqual([1, 2, 3, 4])
      // The first page of each, then source 0's second: its third page and nothing more of source 1.
      expect(reads).toStrictEqual([2, 1])
      expect(yield* drain(next)).toStrictEqual([5, 6, 10, 11])
      expect(reads).toStrictEqual([3, 1])
      // Over: no further reads.
      expect(yield* next).toStrictEqual([])
      expect(reads).toStrictEqual([3, 1])
      expect(yield* drain(pagedMerge([], byNumber))).toStrictEqual([])
    }),
  )

  it.effect("a failing source fails the merge with its error", () =>
    Effect.gen(function* () {
      const failing: PagedSource<number, number, "boom", never> = (start) =>
        start === undefined ? Effect.succeed([[2], 1] as const) : Effect.fail("boom" as const)
      const reads: Array<number> = []
      const exit = yield* Effect.exit(drain(pagedMerge([paged([1, 3], [], reads, 0), failing], byNumber)))
      expect(exit).toStrictEqual(Exit.fail("boom"))
    }),
  )
})
