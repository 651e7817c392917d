/**
 * The memory cache's state, shared by its write steps (`memoryCache.ts`) and its read
 * steps (`memoryQueries.ts`): the item map keyed by the table's document key, and the
 * settings `make` reads once.
 */
import * as Option from "effect/Option"
import type { DocumentKinds } from "../DocumentKind.js"
import * as Table from "../Table.js"
import type { Intent, Service } from "./cacheTypes.js"
import type * as Write from "./write.js"

/** A document's item: its committed entry and its intent. */
export interface Item {
  readonly committed: Write.Stored | undefined
  readonly intent: Intent | undefined
}

/** The memory cache's state and settings, built once in `make`; every step below reads it. */
export interface Memory {
  readonly registry: DocumentKinds["Type"]
  readonly retentionDays: number
  readonly dryRun: boolean
  readonly statusShards: number
  readonly items: Map<string, Item>
}

/** A step of the service: its operation with the {@link Memory} first. */
export type Step<K extends keyof Service> = Service[K] extends (...args: infer A) => infer R
  ? (m: Memory, ...args: A) => R
  : never

export const pk = (kind: string, id: string) => Table.documentPk(kind, id)

export const slotOf = (item: Item | undefined): Write.Slot => ({
  committed: Option.fromNullable(item?.committed),
  intent: Option.fromNullable(item?.intent),
})
export const slot = (m: Memory, kind: string, id: string): Write.Slot => slotOf(m.items.get(pk(kind, id)))
export const stored = (m: Memory, kind: string, id: string) => slot(m, kind, id).committed
export const storedEntry = (m: Memory, kind: string, id: string) => Option.map(stored(m, kind, id), (s) => s.entry)
