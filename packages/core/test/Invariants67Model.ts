/**
 * The model behind the invariant 6 and 7 properties (DESIGN section 7), shared by
 * the memory run and the local-stack run.
 *
 * Several independent writer services (each built by its own
 * `WriteThrough.makeWith`, so no in-process lock is shared) write and delete one
 * key through one cache and one store. Each writer may crash at its k-th port
 * call: before the call is sent, while it is in flight (sent, the answer never
 * seen) or after it returned. A crash is not an interruption: the writer's fiber
 * blocks for good in an uninterruptible region and is dropped; no finalizer, no
 * rollback, no timeout runs. S3 puts can be held by a gate and released later,
 * past other writers' puts: "abortable" holds die with their writer's timeout
 * (the put never lands once its writer gave up, the protocol's assumption
 * without S3 conditional writes), "late" holds land whenever they are released
 * (a put delayed in the network past its writer's lease: only S3's conditional
 * writes stop it). Faults (FaultInjection) are drawn on every writer call, and a
 * driver interleaves clock ticks past leases, releases, reads, queries and sweeps.
 *
 * What is recorded: every state S3 takes for the key (the history), every
 * acknowledged write (Written, Unchanged) and what S3 held when it was
 * acknowledged, everything a read, a query or the cache's committed entry showed.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DocketConfig from "../src/DocketConfig.js"
import * as Document from "../src/Document.js"
import * as DocumentCache from "../src/DocumentCache.js"
import * as DocumentKind from "../src/DocumentKind.js"
import * as DocumentStore from "../src/DocumentStore.js"
import * as FallbackReader from "../src/FallbackReader.js"
import * as FaultInjection from "../src/FaultInjection.js"
import * as Heal from "../src/Heal.js"
import * as S3EventSync from "../src/S3EventSync.js"
import * as WriteThrough from "../src/WriteThrough.js"
import * as SyncModel from "./S3EventSyncModel.js"

/** How held S3 puts behave, and whether the store enforces conditional writes. */
export type Mode =
  /** Conditional store; a held put dies with its writer's timeout (or lands while the writer waits). */
  | "abortable-conditional"
  /** A store that ignores conditions (fauxqs); a held put dies with its writer's timeout. */
  | "abortable-unconditional"
  /** Conditional store; a held put lands whenever it is released, even long after its writer gave up. */
  | "late-conditional"

export type Op =
  | { readonly _tag: "Write"; readonly version: number; readonly alt: boolean }
  | { readonly _tag: "Delete" }

/**
 * Where a writer dies: at its `call`-th port call (cache or store), before, during or after it;
 * or (`pause`) where it stalls before a cache call, a process paused for as long as the driver
 * says (past its lease), then resumed.
 */
export interface Crash {
  readonly call: number
  readonly phase: "before" | "during" | "after" | "pause"
}

export interface WriterSpec {
  readonly ops: ReadonlyArray<Op>
  readonly crash: Crash | undefined
}

export type Step =
  | { readonly _tag: "Run" }
  /** Moves the clock by this fraction of the lease. */
  | { readonly _tag: "Tick"; readonly leases: number }
  | { readonly _tag: "Release"; readonly index: number; readonly land: boolean }
  /** Resumes a paused writer. */
  | { readonly _tag: "Resume" }
  | { readonly _tag: "Read" }
  | { readonly _tag: "Sweep" }

export interface Schedule {
  readonly mode: Mode
  readonly writers: ReadonlyArray<WriterSpec>
  /** For the i-th S3 put that reaches the gate: hold it? */
  readonly holds: ReadonlyArray<boolean>
  readonly verdicts: ReadonlyArray<FaultInjection.Verdict>
  readonly steps: ReadonlyArray<Step>
}

/** The conditions without their deadline: what reaches the server (a request delivered late ignores it). */
const withoutDeadline = <C extends DocumentStore.Deadline>(
  conditions: C | undefined,
): Omit<C, "deadline"> | undefined => {
  if (conditions?.deadline === undefined) return conditions
  const { deadline: _, ...rest } = conditions
  return rest
}

/** The document every writer writes: `alt` changes its title and its customer, so a query can tell versions apart. */
export const documentOf = (base: Document.AnyDocument, version: number, alt: boolean): Document.AnyDocument => ({
  ...base,
  version,
  title: alt ? `v${version} other` : `v${version}`,
  customers: alt ? ["cust-b"] : ["cust-a"],
})

const op = (deleteWeight: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      arbitrary: fc.record({
        _tag: fc.constant("Write" as const),
        version: fc.integer({ min: 1, max: 6 }),
        alt: fc.boolean(),
      }),
      weight: 5,
    },
    { arbitrary: fc.constant<Op>({ _tag: "Delete" }), weight: deleteWeight },
  )

const crash: fc.Arbitrary<Crash> = fc.record({
  call: fc.integer({ min: 0, max: 8 }),
  phase: fc.constantFrom("before" as const, "during" as const, "after" as const, "pause" as const),
})

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant<Step>({ _tag: "Run" }), weight: 3 },
  {
    arbitrary: fc.record({ _tag: fc.constant("Tick" as const), leases: fc.constantFrom(0.01, 0.2, 0.7, 1.05) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("Release" as const), index: fc.nat(7), land: fc.boolean() }),
    weight: 3,
  },
  { arbitrary: fc.constant<Step>({ _tag: "Resume" }), weight: 1 },
  { arbitrary: fc.constant<Step>({ _tag: "Read" }), weight: 2 },
  { arbitrary: fc.constant<Step>({ _tag: "Sweep" }), weight: 1 },
)

/** Schedules: `modes` to draw from, how many writers, how likely crashes and deletes are. */
export const schedule = (options: {
  readonly modes: ReadonlyArray<Mode>
  readonly maxWriters?: number
  readonly crashWeight?: number
  readonly deleteWeight?: number
  readonly holdWeight?: number
}): fc.Arbitrary<Schedule> =>
  fc.record({
    mode: fc.constantFrom(...options.modes),
    writers: fc.array(
      fc.record({
        ops: fc.array(op(options.deleteWeight ?? 1), { minLength: 1, maxLength: 3 }),
        crash: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 2 },
          { arbitrary: crash, weight: options.crashWeight ?? 2 },
        ),
      }),
      { minLength: 2, maxLength: options.maxWriters ?? 4 },
    ),
    holds: fc.array(
      fc.oneof(
        { arbitrary: fc.constant(false), weight: 2 },
        { arbitrary: fc.constant(true), weight: options.holdWeight ?? 2 },
      ),
      { maxLength: 8 },
    ),
    verdicts: FaultInjection.verdicts({ maxLength: 16, okWeight: 5 }),
    steps: fc.array(step, { minLength: 1, maxLength: 12 }),
  })

/** A state of S3 for the key: absent, or a document (its version and content hash). */
export type S3State =
  | { readonly _tag: "Absent" }
  | {
      readonly _tag: "Present"
      readonly version: number
      readonly hash: string
      readonly summary: string
    }

const hashOf = (document: Document.AnyDocument): string => Document.canonicalJson(document)

/** What a query shows of a document, as text: version, title, customers. */
export const summaryText = (s: {
  readonly version: number
  readonly title: string
  readonly customers: ReadonlyArray<string>
}) => `${s.version}|${s.title}|${[...s.customers].sort().join(",")}`

const stateOf = (stored: Option.Option<DocumentStore.StoredDocument>): S3State =>
  Option.match(stored, {
    onNone: (): S3State => ({ _tag: "Absent" }),
    onSome: (s): S3State => ({
      _tag: "Present",
      version: s.document.version,
      hash: hashOf(s.document),
      summary: summaryText(s.document as unknown as Document.Summary),
    }),
  })

/** What the harness saw; the properties assert on it. */
export interface Observations {
  /** Every state S3 took, in order (the first is the initial state). */
  readonly history: Array<S3State>
  /** Invariant 7 violations, as text: S3 going back to a lower version, an acknowledged version missing. */
  readonly regressions: Array<string>
  /** Invariant 6 violations, as text: a read, a query or the cache showing what S3 never had. */
  readonly phantoms: Array<string>
  /** Reads, queries and cache inspections checked. */
  looks: number
  /** Acknowledged writes and deletes, in order. */
  readonly acknowledged: Array<string>
  /** What happened, in order (for counterexamples). */
  readonly trace: Array<string>
  /** Writers that crashed (by index). */
  readonly crashed: Array<number>
  /** Puts held by the gate, and how they ended. */
  readonly held: { count: number; landedLate: number; dropped: number }
  /** The final comparison: cache committed entry and intent, and S3, after lease + one sweep. */
  final?: {
    readonly intent: boolean
    readonly cache: string
    readonly s3: string
  }
}

/** The ports and clock a run needs. */
export interface Env {
  readonly cache: DocumentCache.Service
  readonly store: DocumentStore.Service
  readonly settings: DocketConfig.Settings
  readonly kinds: DocumentKind.Registry
  readonly leaseMillis: number
  readonly budgetMillis: number
  /** Moves time forward by `millis` (TestClock.adjust in memory, a sleep on the live clock). */
  readonly tick: (millis: number) => Effect.Effect<void>
  /** Lets the other fibers run. */
  readonly settle: Effect.Effect<void>
}

interface Held {
  readonly gate: Deferred.Deferred<boolean>
  readonly sentAt: number
  readonly abortable: boolean
}

const cacheText = (entry: Option.Option<import("../src/CacheEntry.js").Entry>): string =>
  Option.match(entry, {
    onNone: () => "none",
    onSome: (e) =>
      e._tag === "Tombstone"
        ? "tombstone"
        : e.document === undefined
          ? `pointer v${e.summary.version}`
          : `v${e.summary.version} ${hashOf(e.document)}`,
  })

const s3Text = (state: S3State): string => (state._tag === "Absent" ? "absent" : `v${state.version} ${state.hash}`)

/** Whether the cache's committed entry says what S3 holds (a tombstone or nothing for no object). */
export const agrees = (final: NonNullable<Observations["final"]>): boolean =>
  final.s3 === "absent" ? final.cache === "none" || final.cache === "tombstone" : final.cache === final.s3

/**
 * Runs one schedule against `env` for the document `base` (its kind and id are the key),
 * then lets every live writer finish, moves the clock past the lease, runs one sweep and
 * records the final state. Never fails: the properties assert on the observations.
 */
export const run = (env: Env, base: Document.AnyDocument, schedule: Schedule) =>
  Effect.gen(function* () {
    const { kind, id } = base
    const obs: Observations = {
      history: [],
      regressions: [],
      phantoms: [],
      acknowledged: [],
      crashed: [],
      trace: [],
      looks: 0,
      held: { count: 0, landedLate: 0, dropped: 0 },
    }
    const s3Now = Effect.map(Effect.orDie(env.store.get(kind, id)), stateOf)
    obs.history.push(yield* s3Now)
    let deletes = 0
    // The state S3 is in, when it holds an object (a delete in between resets the version order).
    const lastPresent = (): S3State | undefined => {
      const last = obs.history.at(-1)
      return last?._tag === "Present" ? last : undefined
    }
    // The innermost store: records every state S3 takes, and checks that S3 never goes back to a
    // lower version (or to other content at the same version) without a delete in between.
    const recording: DocumentStore.Service = {
      ...env.store,
      put: (document, conditions) =>
        Effect.tap(env.store.put(document, conditions), () =>
          Effect.sync(() => {
            const previous = lastPresent()
            const next: S3State = {
              _tag: "Present",
              version: document.version,
              hash: hashOf(document),
              summary: summaryText(document as unknown as Document.Summary),
            }
            if (
              previous?._tag === "Present" &&
              (next.version < previous.version || (next.version === previous.version && next.hash !== previous.hash))
            ) {
              obs.regressions.push(`S3 went from ${s3Text(previous)} to ${s3Text(next)}`)
            }
            obs.history.push(next)
            obs.trace.push(`S3 put v${next.version} ${next.summary}`)
          }),
        ),
      delete: (k, i, conditions) =>
        Effect.tap(env.store.delete(k, i, conditions), () =>
          Effect.sync(() => {
            if (obs.history.at(-1)?._tag === "Present") deletes++
            obs.history.push({ _tag: "Absent" })
            obs.trace.push("S3 delete")
          }),
        ),
    }

    // Writers paused by the schedule, until the driver resumes them.
    const paused: Array<{ readonly index: number; readonly resume: Deferred.Deferred<void> }> = []
    // The gate: holds the puts the schedule says, until the driver releases them.
    const held: Array<Held> = []
    let puts = 0
    const late = schedule.mode === "late-conditional"
    const gated: DocumentStore.Service = {
      ...recording,
      put: (document, conditions) =>
        Effect.gen(function* () {
          const hold = schedule.holds[puts++] === true
          if (!hold) return yield* recording.put(document, conditions)
          obs.held.count++
          obs.trace.push(`gate holds put v${document.version}`)
          const gate = yield* Deferred.make<boolean>()
          held.push({ gate, sentAt: yield* Clock.currentTimeMillis, abortable: !late })
          // Not retryable: a dropped put never reaches S3, and no retry of it is sent.
          const refused = new DocumentStore.StoreError({
            reason: "Unknown",
            operation: "PutObject",
            key: recording.keyOf(kind, id),
            cause: "held put dropped",
          })
          if (late) {
            // Sent: it lands when released, whatever its writer does meanwhile.
            const answer = yield* Deferred.make<{ key: string; etag: string }, DocumentStore.StoreError>()
            yield* Effect.forkDaemon(
              Effect.flatMap(Deferred.await(gate), (land) =>
                land
                  ? // On the wire already: the server applies it whatever the client's deadline said.
                    Effect.exit(recording.put(document, withoutDeadline(conditions))).pipe(
                      Effect.tap((exit) => Exit.isSuccess(exit) && Effect.sync(() => obs.held.landedLate++)),
                      Effect.flatMap((exit) => Deferred.complete(answer, exit)),
                    )
                  : Deferred.fail(answer, refused),
              ),
            )
            return yield* Deferred.await(answer)
          }
          // Abortable: the writer's deadline (FaultInjection cuts the put off at it) interrupts the wait; it never lands.
          const land = yield* Deferred.await(gate)
          if (!land) return yield* refused
          return yield* recording.put(document, conditions)
        }),
    }

    const plan = yield* FaultInjection.plan(schedule.verdicts)
    const faults: FaultInjection.Options = { plan, retry: FaultInjection.immediateRetry(2) }
    const faultyCache = FaultInjection.cache(env.cache, faults)
    const faultyStore = FaultInjection.store(gated, faults)

    // A writer's ports with its crash point: its k-th call blocks for good (uninterruptibly).
    const crashing = (index: number, spec: Crash | undefined) => {
      let calls = 0
      const dead = Effect.uninterruptible(Effect.never)
      const wrap = <A, E>(operation: string, self: Effect.Effect<A, E>): Effect.Effect<A, E> =>
        Effect.suspend(() => {
          const n = calls++
          if (spec?.phase === "pause" && n === spec.call) {
            // A stalled process: only before a cache call (a stalled S3 call is a held put, above).
            if (!operation.startsWith("cache.")) return self
            obs.trace.push(`writer ${index} call ${n} ${operation} (paused)`)
            return Effect.flatMap(Deferred.make<void>(), (resume) =>
              Effect.zipRight(
                Effect.zipRight(
                  Effect.sync(() => paused.push({ index, resume })),
                  Effect.uninterruptible(Deferred.await(resume)),
                ),
                Effect.zipRight(
                  Effect.sync(() => obs.trace.push(`writer ${index} resumed`)),
                  self,
                ),
              ),
            )
          }
          obs.trace.push(
            `writer ${index} call ${n} ${operation}${spec !== undefined && n === spec.call ? ` (crash ${spec.phase})` : ""}`,
          )
          if (spec === undefined || n !== spec.call) return self
          // From here on the writer never runs again, whatever its call does.
          obs.crashed.push(index)
          // One uninterruptible region to the end: no timeout, interruption or finalizer of the writer runs.
          switch (spec.phase) {
            case "before":
              return dead
            case "during":
              return Effect.uninterruptible(Effect.zipRight(Effect.forkDaemon(Effect.exit(self)), Effect.never))
            case "after":
              return Effect.uninterruptible(Effect.zipRight(Effect.exit(self), Effect.never))
            case "pause":
              return self
          }
        })
      const cache: DocumentCache.Service = {
        ...faultyCache,
        inspect: (k, i) => wrap("cache.inspect", faultyCache.inspect(k, i)),
        intend: (request) => wrap("cache.intend", faultyCache.intend(request)),
        commit: (request) => wrap("cache.commit", faultyCache.commit(request)),
        clearIntent: (k, i, w) => wrap("cache.clearIntent", faultyCache.clearIntent(k, i, w)),
        get: (k, i, o) => wrap("cache.get", faultyCache.get(k, i, o)),
      }
      const store: DocumentStore.Service = {
        ...faultyStore,
        put: (document, conditions) => wrap("PutObject", faultyStore.put(document, conditions)),
        delete: (k, i, conditions) => wrap("DeleteObject", faultyStore.delete(k, i, conditions)),
        head: (key) => wrap("HeadObject", faultyStore.head(key)),
        getKey: (key) => wrap("GetObject", faultyStore.getKey(key)),
        get: (k, i) => wrap("GetObject", faultyStore.get(k, i)),
      }
      return { cache, store }
    }

    const acknowledge = (label: string, expected: S3State | undefined, deletesBefore: number) =>
      Effect.gen(function* () {
        obs.trace.push(`acknowledged: ${label}`)
        const now = yield* s3Now
        obs.acknowledged.push(label)
        if (expected === undefined) return
        if (expected._tag === "Present") {
          const holds =
            now._tag === "Present" &&
            (now.version > expected.version || (now.version === expected.version && now.hash === expected.hash))
          // A delete that ran meanwhile (its own S3 call landed after this write's) replaced it legitimately.
          if (!holds && !(now._tag === "Absent" && deletes > deletesBefore)) {
            obs.regressions.push(`${label} acknowledged while S3 holds ${s3Text(now)}`)
          }
        }
      })

    const writers = yield* Effect.forEach(schedule.writers, (spec, index) =>
      Effect.gen(function* () {
        const ports = crashing(index, spec.crash)
        const service = yield* WriteThrough.makeWith({
          lease: `${env.leaseMillis} millis`,
          putBudget: `${env.budgetMillis} millis`,
        }).pipe(
          Effect.provideService(DocumentCache.DocumentCache, ports.cache),
          Effect.provideService(DocumentStore.DocumentStore, ports.store),
          Effect.provideService(DocketConfig.DocketConfig, env.settings),
        )
        const one = (o: Op) =>
          Effect.gen(function* () {
            const deletesBefore = deletes
            if (o._tag === "Delete") {
              const exit = yield* Effect.exit(service.delete(kind, id))
              obs.trace.push(`writer ${index} delete: ${outcomeOf(exit)}`)
              if (Exit.isSuccess(exit) && exit.value._tag === "Deleted") {
                yield* acknowledge(`writer ${index}: delete`, undefined, deletesBefore)
              }
              return
            }
            const document = documentOf(base, o.version, o.alt)
            const exit = yield* Effect.exit(service.write(document))
            obs.trace.push(`writer ${index} write v${o.version}${o.alt ? " other" : ""}: ${outcomeOf(exit)}`)
            if (Exit.isSuccess(exit) && (exit.value._tag === "Written" || exit.value._tag === "Unchanged")) {
              yield* acknowledge(
                `writer ${index}: ${exit.value._tag} v${o.version}${o.alt ? " other" : ""}`,
                { _tag: "Present", version: document.version, hash: hashOf(document), summary: "" },
                deletesBefore,
              )
            }
          })
        // Daemon: nothing interrupts a crashed writer, not even the end of the test.
        return yield* Effect.forkDaemon(Effect.forEach(spec.ops, one, { discard: true }))
      }),
    )

    // Readers and sweeps use the ports without faults.
    const reader = yield* FallbackReader.make.pipe(
      Effect.provideService(DocumentCache.DocumentCache, env.cache),
      Effect.provideService(DocumentStore.DocumentStore, recording),
      Effect.provideService(DocketConfig.DocketConfig, env.settings),
      Effect.provideService(DocumentKind.DocumentKinds, env.kinds),
    )
    const sweep = Effect.ignore(
      Heal.sweep().pipe(
        Effect.provideService(DocumentCache.DocumentCache, env.cache),
        Effect.provideService(DocumentStore.DocumentStore, recording),
      ),
    )
    const s3Had = (hash: string) => obs.history.some((s) => s._tag === "Present" && s.hash === hash)
    const s3HadSummary = (text: string) => obs.history.some((s) => s._tag === "Present" && s.summary === text)

    // Invariant 6: a read, a query and the cache's committed entry show only what S3 had.
    const look = (when: string) =>
      Effect.gen(function* () {
        obs.looks++
        const read = yield* Effect.either(reader.read(kind, id))
        if (read._tag === "Right" && Option.isSome(read.right) && !s3Had(hashOf(read.right.value.document))) {
          obs.phantoms.push(
            `${when}: a read (${read.right.value.source}) showed v${read.right.value.document.version}, which S3 never had`,
          )
        }
        const inspected = yield* Effect.orDie(env.cache.inspect(kind, id))
        const entry = Option.getOrUndefined(inspected.entry)
        if (entry?._tag === "Cached" && entry.document !== undefined && !s3Had(hashOf(entry.document))) {
          obs.phantoms.push(`${when}: the cache committed v${entry.summary.version}, which S3 never had`)
        }
        for (const target of [
          { _tag: "Time" as const },
          { _tag: "Customer" as const, customer: "cust-a" },
          { _tag: "Customer" as const, customer: "cust-b" },
        ]) {
          const found = yield* Effect.orDie(
            Stream.runCollect(env.cache.query({ target, from: queryFrom, to: queryTo, kind })),
          )
          for (const summary of found) {
            if (summary.id !== id) continue
            if (!s3HadSummary(summaryText(summary))) {
              obs.phantoms.push(`${when}: a ${target._tag} query showed ${summaryText(summary)}, which S3 never had`)
            }
            if (target._tag === "Customer" && !summary.customers.includes(target.customer)) {
              obs.phantoms.push(`${when}: a query for ${target.customer} showed ${summaryText(summary)}`)
            }
          }
        }
      })

    const release = (index: number, land: boolean) =>
      Effect.gen(function* () {
        if (held.length === 0) return
        const [entry] = held.splice(index % held.length, 1)
        const now = yield* Clock.currentTimeMillis
        // An abortable put past its writer's budget was given up by the client: it never lands.
        const lands = land && !(entry!.abortable && now - entry!.sentAt >= env.budgetMillis)
        if (!lands) obs.held.dropped++
        obs.trace.push(`release a held put: ${lands ? "lands" : "dropped"}`)
        yield* Deferred.succeed(entry!.gate, lands)
      })

    for (const s of schedule.steps) {
      switch (s._tag) {
        case "Run":
          break
        case "Tick":
          obs.trace.push(`tick ${s.leases} lease`)
          yield* env.tick(Math.ceil(s.leases * env.leaseMillis))
          break
        case "Release":
          yield* release(s.index, s.land)
          break
        case "Resume": {
          const next = paused.shift()
          if (next !== undefined) yield* Deferred.succeed(next.resume, undefined)
          break
        }
        case "Read":
          obs.trace.push("read")
          yield* look("during the run")
          break
        case "Sweep":
          obs.trace.push("sweep")
          yield* sweep
          break
      }
      yield* env.settle
    }

    // Everything still held is released (late mode: it lands); every live writer must finish, the paused
    // ones last: a process that stalled resumes after the others went on without it (past its lease).
    while (held.length > 0) {
      yield* release(0, true)
      yield* env.settle
    }
    const finished = (pausedCount: boolean) =>
      Effect.map(
        Effect.forEach(writers, (f, i) =>
          Effect.map(
            Fiber.poll(f),
            (p) => Option.isSome(p) || obs.crashed.includes(i) || (pausedCount && paused.some((w) => w.index === i)),
          ),
        ),
        (all) => all.every(Boolean),
      )
    let waited = 0
    for (const pausedCount of [true, false]) {
      if (!pausedCount) {
        while (paused.length > 0) yield* Deferred.succeed(paused.shift()!.resume, undefined)
        yield* env.settle
      }
      while (!(yield* finished(pausedCount))) {
        // A writer waits out other writers' leases (and its own write wait): bounded, so a hang fails.
        if (waited++ > 200) {
          obs.regressions.push("a live writer did not finish within 200 steps of a fifth of a lease")
          break
        }
        while (held.length > 0) yield* release(0, true)
        if (!pausedCount) while (paused.length > 0) yield* Deferred.succeed(paused.shift()!.resume, undefined)
        yield* env.tick(Math.ceil(env.leaseMillis / 5))
        yield* env.settle
      }
    }
    // Puts sent by writers that crashed meanwhile: late ones land now, abortable ones past their budget never.
    while (held.length > 0) {
      yield* release(0, true)
      yield* env.settle
    }
    yield* look("after the writers finished")
    if (late) {
      // A put that landed after its writer gave up is in S3 only; its S3 event converges the cache.
      yield* Effect.ignore(
        S3EventSync.processEvent(
          SyncModel.notification([{ key: recording.keyOf(kind, id), sequencer: "FFFF" }], env.settings.bucket),
        ).pipe(
          Effect.provideService(DocumentCache.DocumentCache, env.cache),
          Effect.provideService(DocumentStore.DocumentStore, recording),
          Effect.provideService(DocketConfig.DocketConfig, env.settings),
          Effect.provideService(DocumentKind.DocumentKinds, env.kinds),
        ),
      )
    }
    // Invariant 6: within the lease plus one sweep, every intent is resolved and the cache says what S3 has.
    yield* env.tick(env.leaseMillis + 1)
    yield* sweep
    yield* reader.awaitRefills
    const inspected = yield* Effect.orDie(env.cache.inspect(kind, id))
    obs.final = { intent: Option.isSome(inspected.intent), cache: cacheText(inspected.entry), s3: s3Text(yield* s3Now) }
    yield* look("after the sweep")
    return obs
  })

const outcomeOf = (exit: Exit.Exit<{ readonly _tag: string }, { readonly _tag: string }>): string =>
  Exit.isSuccess(exit)
    ? exit.value._tag
    : Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (e) => e._tag })

/** The query window: the documents are scheduled on 2099-01-01. */
const queryFrom = "2099-01-01T00:00:00.000Z"
const queryTo = "2099-01-02T00:00:00.000Z"
