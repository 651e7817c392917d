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
