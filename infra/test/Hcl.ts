/**
 * Terraform configurations as data, for the offline checks: every `.tf` file
 * of a directory parsed with @cdktf/hcl2json and merged the way Terraform
 * merges a module's files.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "@cdktf/hcl2json"

/** hcl2json's output: untyped JSON. */
export type Json = any
export type Config = Record<string, Json>

/** Parses and merges `files` (name to HCL text). */
export const parseFiles = async (files: ReadonlyArray<readonly [string, string]>): Promise<Config> => {
  const merged: Config = {}
  for (const [file, text] of files) {
    const parsed: Config = await parse(file, text)
    for (const [block, body] of Object.entries(parsed)) {
      if (Array.isArray(body)) merged[block] = [...(merged[block] ?? []), ...body]
      else if (typeof body === "object" && body !== null) {
        merged[block] ??= {}
        const target = merged[block]
        for (const [type, entries] of Object.entries(body)) {
          target[type] =
            typeof entries === "object" && !Array.isArray(entries) ? { ...target[type], ...entries } : entries
        }
      } else merged[block] = body
    }
  }
  return merged
}

/** The `.tf` files of a directory (name to text). */
export const readModule = (dir: string): Array<[string, string]> =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".tf"))
    .sort()
    .map((f) => [f, readFileSync(join(dir, f), "utf8")])

/** All `.tf` files of a directory, parsed and merged. */
export const load = (dir: string): Promise<Config> => parseFiles(readModule(dir))
