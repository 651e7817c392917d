/**
 * A k-way merge of streams that are each sorted: the status query without a
 * kind reads one partition per kind and must interleave them in order.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** One source's pulled, not yet emitted elements: `buffer[at..]` (an index, not `shift`, which is O(n) per element). */
interface Head<A> {
  buffer: Array<A>
  at: number
  done: boolean
}

const size = <A>(head: Head<A>): number => head.buffer.length - head.at

/** Merges sorted streams into one sorted stream; the sources are read in parallel. */
export const mergeSorted = <A, E, R>(
  streams: ReadonlyArray<Stream.Stream<A, E, R>>,
  compare: (a: A, b: A) => number,
): Stream.Stream<A, E, R> => {
  if (streams.length === 1 && streams[0] !== undefined) return streams[0]
  return Stream.unwrapScoped(
    Effect.gen(function* () {
      const pulls = yield* Effect.forEach(streams, (stream) => Stream.toPull(stream))
      const heads: Array<Head<A>> = pulls.map(() => ({ buffer: [], at: 0, done: false }))
      // Refills every empty, unfinished head (in parallel) so each has a first element or is done.
      const fill = Effect.forEach(
        pulls,
        (pull, i) => {
          const head = heads[i] as Head<A>
          const loop: Effect.Effect<void, E, R> = Effect.suspend(() =>
            head.done || size(head) > 0
              ? Effect.void
              : pull.pipe(
                  Effect.matchEffect({
                    onFailure: Option.match({
                      onNone: () =>
                        Effect.sync(() => {
                          head.done = true
                        }),
                      onSome: (error) => Effect.fail(error),
                    }),
                    onSuccess: (chunk) =>
                      Effect.zipRight(
                        Effect.sync(() => {
                          // The head is empty here: the chunk becomes its buffer.
                          head.buffer = Chunk.toArray(chunk)
                          head.at = 0
                        }),
                        loop,
                      ),
                  }),
                ),
          )
          return loop
        },
        { concurrency: "unbounded", discard: true },
      )
      const next: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R> = Effect.gen(function* () {
        yield* Effect.mapError(fill, Option.some)
        const out: Array<A> = []
        // Emit everything that is certainly next: while every live head has elements.
        for (;;) {
          let best: Head<A> | undefined
          for (const head of heads) {
            if (size(head) === 0) {
              if (head.done) continue
              best = undefined
              break
            }
            if (best === undefined || compare(head.buffer[head.at] as A, best.buffer[best.at] as A) < 0) best = head
          }
          if (best === undefined) break
          out.push(best.buffer[best.at] as A)
          best.at += 1
        }
        if (out.length === 0) return yield* Effect.fail(Option.none())
        return Chunk.unsafeFromArray(out)
      })
      return Stream.repeatEffectChunkOption(next)
    }),
  )
}

/**
 * One source of {@link pagedMerge}: reads the page that starts at `start` (`undefined`: the
 * first), sorted, and says where the next one starts (`undefined`: it was the last).
 */
export type PagedSource<A, S, E, R> = (
  start: S | undefined,
) => Effect.Effect<readonly [ReadonlyArray<A>, S | undefined], E, R>

interface PagedHead<A, S> {
  buffer: ReadonlyArray<A>
  at: number
  /** Where the source's next page starts. */
  start: S | undefined
  /** Whether its first page was read. */
  started: boolean
  /** Nothing left: its buffer is emitted and its last page read. */
  done: boolean
}

/**
 * The k-way merge of {@link mergeSorted} over paged sources, without a stream (and a fiber, a
 * scope and a channel executor) per source: the sharded status query's hot path. Call it
 * inside `Effect.suspend`, since it holds the merge's state. Each run of the returned effect
 * yields the elements that are certainly next in order (an empty array: the merge is over).
 * A source's next page is read only when its buffer ran dry and the merge cannot go on without
 * it, the dry sources in parallel; a caller that stops after `n` elements never reads a page it
 * did not need for them.
 */
export const pagedMerge = <A, S, E, R>(
  sources: ReadonlyArray<PagedSource<A, S, E, R>>,
  compare: (a: A, b: A) => number,
): Effect.Effect<ReadonlyArray<A>, E, R> => {
  const heads: Array<PagedHead<A, S>> = sources.map(() => ({
    buffer: [],
    at: 0,
    start: undefined,
    started: false,
    done: false,
  }))
  // Reads pages of source `i` until it has an element or has none left (a page may be empty).
  const refill = (i: number): Effect.Effect<void, E, R> => {
    const head = heads[i] as PagedHead<A, S>
    return Effect.flatMap((sources[i] as PagedSource<A, S, E, R>)(head.start), ([items, next]) => {
      head.buffer = items
      head.at = 0
      head.start = next
      head.started = true
      if (items.length > 0) return Effect.void
      if (next === undefined) {
        head.done = true
        return Effect.void
      }
      return refill(i)
    })
  }
  const fill = Effect.suspend(() => {
    const dry: Array<number> = []
    heads.forEach((head, i) => {
      if (head.done || head.at < head.buffer.length) return
      if (head.started && head.start === undefined) head.done = true
      else dry.push(i)
    })
    return dry.length === 0
      ? Effect.void
      : dry.length === 1
        ? refill(dry[0] as number)
        : Effect.forEach(dry, refill, { concurrency: "unbounded", discard: true })
  })
  // Everything that is certainly next: while every source left has an element in its buffer.
  const emit = (): ReadonlyArray<A> => {
    const out: Array<A> = []
    for (;;) {
      let best: PagedHead<A, S> | undefined
      for (const head of heads) {
        if (head.at >= head.buffer.length) {
          if (head.done) continue
          return out
        }
        if (best === undefined || compare(head.buffer[head.at] as A, best.buffer[best.at] as A) < 0) best = head
      }
      if (best === undefined) return out
      out.push(best.buffer[best.at] as A)
      best.at += 1
    }
  }
  return Effect.map(fill, emit)
}
