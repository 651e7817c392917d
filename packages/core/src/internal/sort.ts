/**
 * An external merge sort for streams too large to hold in memory (reconcile
 * over an unsorted Scan and an unsorted inventory): the stream is cut into
 * runs of `runSize` items, each run sorted and spilled to a temporary file as
 * JSON lines, and the runs are read back through a k-way merge. Memory stays
 * at one run plus a read buffer per run file, whatever the stream's length.
 * The last run stays in memory, so a stream shorter than one run never
 * touches the disk, and two such streams are merge-joined synchronously
 * (`mergeJoinArrays`); otherwise the join is pulled 512 rows per step.
 */
import { createReadStream, createWriteStream } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** How items are keyed and written to a run file. */
export interface SortOptions<A> {
  readonly key: (a: A) => string
  /** Items per run (default 50,000). */
  readonly runSize?: number | undefined
  /** Where run files go (default the OS temporary directory). */
  readonly directory?: string
}

/** A spilled, sorted stream: read it (once) through {@link Sorted.iterate}. */
export interface Sorted<A> {
  readonly count: number
  readonly runs: number
  /** The items in key order (stable for equal keys within a run). */
  readonly iterate: () => AsyncIterableIterator<A>
  /** The items in key order, when nothing was spilled (the stream fit in one run). */
  readonly inMemory: ReadonlyArray<A> | undefined
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const writeRun = <A>(path: string, run: ReadonlyArray<{ k: string; a: A }>): Promise<void> =>
  new Promise((resolve, reject) => {
    const out = createWriteStream(path, { encoding: "utf8", highWaterMark: 256 * 1024 })
    out.on("error", reject)
    let i = 0
    const pump = () => {
      while (i < run.length) {
        const entry = run[i++] as { k: string; a: A }
        if (!out.write(`${JSON.stringify([entry.k, entry.a])}\n`)) {
          out.once("drain", pump)
          return
        }
      }
      out.end(resolve)
    }
    pump()
  })

async function* readRun<A>(path: string): AsyncGenerator<{ k: string; a: A }> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: "utf8", highWaterMark: 16 * 1024 }),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  try {
    for await (const line of lines) {
      if (line.length === 0) continue
      const [k, a] = JSON.parse(line) as [string, A]
      yield { k, a }
    }
  } finally {
    lines.close()
  }
}

async function* fromArray<A>(run: ReadonlyArray<{ k: string; a: A }>): AsyncGenerator<{ k: string; a: A }> {
  yield* run
}

/** A k-way merge of sorted sources through a binary heap. */
async function* merge<A>(sources: ReadonlyArray<AsyncIterator<{ k: string; a: A }>>): AsyncGenerator<A> {
  type Head = { k: string; a: A; source: number }
  const heap: Array<Head> = []
  const less = (x: Head, y: Head) => compare(x.k, y.k) < 0 || (x.k === y.k && x.source < y.source)
  const push = (h: Head) => {
    heap.push(h)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(heap[i] as Head, heap[parent] as Head)) break
      ;[heap[i], heap[parent]] = [heap[parent] as Head, heap[i] as Head]
      i = parent
    }
  }
  const pop = (): Head => {
    const top = heap[0] as Head
    const last = heap.pop() as Head
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && less(heap[l] as Head, heap[m] as Head)) m = l
        if (r < heap.length && less(heap[r] as Head, heap[m] as Head)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m] as Head, heap[i] as Head]
        i = m
      }
    }
    return top
  }
  try {
    for (let source = 0; source < sources.length; source++) {
      const next = await (sources[source] as AsyncIterator<{ k: string; a: A }>).next()
      if (!next.done) push({ ...next.value, source })
    }
    while (heap.length > 0) {
      const top = pop()
      yield top.a
      const next = await (sources[top.source] as AsyncIterator<{ k: string; a: A }>).next()
      if (!next.done) push({ ...next.value, source: top.source })
    }
  } finally {
    await Promise.all(sources.map((s) => s.return?.()))
  }
}

/**
 * Drains `self` into sorted runs (spilling all but the last to disk) and
 * returns them ready to be merged. The run files live as long as the scope.
 */
export const spill = <A, E, R, E2>(
  self: Stream.Stream<A, E, R>,
  options: SortOptions<A>,
  onError: (cause: unknown) => E2,
): Effect.Effect<Sorted<A>, E | E2, R | Scope.Scope> =>
  Effect.gen(function* () {
    const runSize = Math.max(1, options.runSize ?? 50_000)
    // Created at the first spill, so a short stream never touches the disk.
    let directory: string | undefined
    yield* Effect.addFinalizer(() =>
      directory === undefined
        ? Effect.void
        : Effect.promise(() => rm(directory as string, { recursive: true, force: true })),
    )
    const files: Array<string> = []
    let buffer: Array<{ k: string; a: A }> = []
    let count = 0
    const flush = Effect.suspend(() => {
      const run = buffer.sort((x, y) => compare(x.k, y.k))
      buffer = []
      return Effect.tryPromise({
        try: async () => {
          directory ??= await mkdtemp(join(options.directory ?? tmpdir(), "docket-sort-"))
          const path = join(directory, `run-${files.length}.jsonl`)
          files.push(path)
          await writeRun(path, run)
        },
        catch: onError,
      })
    })
    yield* Stream.runForEachChunk(self, (chunk) =>
      Effect.suspend(() => {
        for (const a of chunk) {
          buffer.push({ k: options.key(a), a })
          count++
        }
        return buffer.length >= runSize ? flush : Effect.void
      }),
    )
    const last = buffer.sort((x, y) => compare(x.k, y.k))
    buffer = []
    return {
      count,
      runs: files.length + (last.length > 0 ? 1 : 0),
      iterate: () => merge<A>([...files.map((f) => readRun<A>(f)), fromArray(last)]),
      inMemory: files.length === 0 ? last.map((entry) => entry.a) : undefined,
    }
  })

/** One key of a merge-join: the items of each side that carry it. */
export interface Joined<L, R> {
  readonly key: string
  readonly left: ReadonlyArray<L>
  readonly right: ReadonlyArray<R>
}

/** Merge-joins two key-sorted sources (a full outer join, grouped by key). */
export async function* mergeJoin<L, R>(
  left: AsyncIterator<L>,
  right: AsyncIterator<R>,
  leftKey: (l: L) => string,
  rightKey: (r: R) => string,
): AsyncGenerator<Joined<L, R>> {
  let l = await left.next()
  let r = await right.next()
  try {
    while (!l.done || !r.done) {
      const lk = l.done ? undefined : leftKey(l.value)
      const rk = r.done ? undefined : rightKey(r.value)
      const key = lk === undefined ? (rk as string) : rk === undefined ? lk : compare(lk, rk) <= 0 ? lk : rk
      const ls: Array<L> = []
      const rs: Array<R> = []
      while (!l.done && leftKey(l.value) === key) {
        ls.push(l.value)
        l = await left.next()
      }
      while (!r.done && rightKey(r.value) === key) {
        rs.push(r.value)
        r = await right.next()
      }
      yield { key, left: ls, right: rs }
    }
  } finally {
    await Promise.all([left.return?.(), right.return?.()])
  }
}

/** {@link mergeJoin} over two sorted arrays, without a promise per item. */
export function* mergeJoinArrays<L, R>(
  left: ReadonlyArray<L>,
  right: ReadonlyArray<R>,
  leftKey: (l: L) => string,
  rightKey: (r: R) => string,
): Generator<Joined<L, R>> {
  let i = 0
  let j = 0
  while (i < left.length || j < right.length) {
    const lk = i < left.length ? leftKey(left[i] as L) : undefined
    const rk = j < right.length ? rightKey(right[j] as R) : undefined
    const key = lk === undefined ? (rk as string) : rk === undefined ? lk : compare(lk, rk) <= 0 ? lk : rk
    const ls: Array<L> = []
    const rs: Array<R> = []
    while (i < left.length && leftKey(left[i] as L) === key) ls.push(left[i++] as L)
    while (j < right.length && rightKey(right[j] as R) === key) rs.push(right[j++] as R)
    yield { key, left: ls, right: rs }
  }
}

/** Rows of the merge-join pulled per step of the stream. */
const joinBatch = 512

/**
 * The merge-join as a stream (interrupting it closes both sources), in chunks of up to 512
 * rows: one async step of the fiber per chunk, where `Stream.fromAsyncIterable` takes one
 * per row (a clean reconcile is one row per document, and this runs after both sides are read).
 */
export const joinStream = <L, R, E>(
  left: Sorted<L>,
  right: Sorted<R>,
  leftKey: (l: L) => string,
  rightKey: (r: R) => string,
  onError: (cause: unknown) => E,
): Stream.Stream<Joined<L, R>, E> =>
  Stream.suspend(() => {
    // Nothing spilled on either side (fewer items than a run): joined in memory, synchronously.
    if (left.inMemory !== undefined && right.inMemory !== undefined) {
      return Stream.fromIterable(mergeJoinArrays(left.inMemory, right.inMemory, leftKey, rightKey))
    }
    const rows = mergeJoin(left.iterate(), right.iterate(), leftKey, rightKey)
    const pull = async (): Promise<Array<Joined<L, R>>> => {
      const batch: Array<Joined<L, R>> = []
      while (batch.length < joinBatch) {
        const next = await rows.next()
        if (next.done) break
        batch.push(next.value)
      }
      return batch
    }
    return Stream.paginateChunkEffect(true, (more: boolean) =>
      more
        ? Effect.map(Effect.tryPromise({ try: pull, catch: onError }), (batch) => [
            Chunk.unsafeFromArray(batch),
            batch.length === joinBatch ? Option.some(true) : Option.none(),
          ])
        : Effect.succeed([Chunk.empty<Joined<L, R>>(), Option.none<boolean>()] as const),
    ).pipe(Stream.ensuring(Effect.promise(async () => void (await rows.return(undefined)))))
  })
