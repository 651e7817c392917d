/**
 * The memory store's listing (`DocumentStore.makeMemory`): its objects in UTF-8
 * key order, a page of `pageSize` keys at a time, after `startAfter`, as a
 * `Stream`. Apart from the port module, which imports it (through `internal/memoryStreams.ts`)
 * when it builds a memory store, so that the port (on every path, the Lambda's cold start among them)
 * loads no `Stream`.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { compareKeys } from "./objectCodec.js"

/** Lists the keys of `objects` under `prefix` page by page, each entry described by `info`. */
export const list = <O, I>(
  objects: ReadonlyMap<string, O>,
  prefix: string,
  pageSize: number,
  startAfter: string | undefined,
  info: (key: string, object: O) => I,
): Stream.Stream<I> =>
  Stream.paginateChunkEffect(startAfter, (after) =>
    Effect.sync(() => {
      const keys = [...objects.keys()]
        .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
        .sort(compareKeys)
      const page = keys.slice(0, pageSize)
      const chunk = page.flatMap((k) => {
        const object = objects.get(k)
        return object === undefined ? [] : [info(k, object)]
      })
      const last = page.at(-1)
      return [
        Chunk.unsafeFromArray(chunk),
        keys.length > pageSize && last !== undefined ? Option.some(last) : Option.none<string>(),
      ] as const
    }),
  )
