/**
 * The hashicorp/aws provider schema, offline, and a check of Terraform
 * configurations against it (what `terraform validate` checks of a provider:
 * resource and data source types, argument and block names, required
 * arguments and blocks, exported attributes).
 *
 * The schema comes from `@cdktf/provider-aws`, whose bindings are generated
 * from `terraform providers schema -json` of one provider version (its
 * package.json says which: `cdktf.provider.version`). The package is 37 MB,
 * so it is not a dependency: {@link load} fetches it with `npm pack` on first
 * use, extracts a compact schema from its `.jsii` manifest (extract.mjs) into
 * `node_modules/.cache/docket-provider-schema/`, and deletes the package.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import type { Config, Json } from "./Hcl.js"

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, "../..")

/** A provider version and the @cdktf/provider-aws release generated from it. */
export interface ProviderVersion {
  readonly aws: string
  readonly cdktf: string
}

/**
 * The versions the modules' constraint (`>= 6.20.0, < 7.0.0`) allows at its
 * ends: 6.20.0, the lowest, and 6.25.0, the highest that has bindings
 * (HashiCorp stopped publishing them on 2025-12-10; `npm view
 * @cdktf/provider-aws@<v> cdktf` names the provider version of each).
 */
export const versions: ReadonlyArray<ProviderVersion> = [
  { aws: "6.20.0", cdktf: "21.17.0" },
  { aws: "6.25.0", cdktf: "21.22.1" },
]

/** A block's schema: its arguments, nested blocks and nested object attributes. */
export interface Block {
  readonly args: Readonly<Record<string, { readonly required: boolean }>>
  readonly blocks: Readonly<Record<string, Block & { readonly required: boolean }>>
  readonly objects?: Readonly<Record<string, Block & { readonly required: boolean }>>
}

/** A resource's or data source's schema; `attributes` are the exported ones, camelCase as cdktf names them. */
export interface Entry extends Block {
  readonly attributes: ReadonlyArray<string>
}

export interface Schema {
  readonly version: string
  readonly resources: Readonly<Record<string, Entry>>
  readonly dataSources: Readonly<Record<string, Entry>>
}

export const cacheDir = join(repo, "node_modules/.cache/docket-provider-schema")

/** The compact schema of one provider version, fetched and extracted on first use. */
export const load = async (version: ProviderVersion): Promise<Schema> => {
  const file = join(cacheDir, `aws-${version.aws}.json`)
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true })
    const work = mkdtempSync(join(tmpdir(), "docket-provider-"))
    try {
      const { stdout } = await run(
        "npm",
        ["pack", `@cdktf/provider-aws@${version.cdktf}`, "--silent", "--pack-destination", work],
        { cwd: work, maxBuffer: 1 << 20, timeout: 600_000 },
      )
      const tarball = join(work, stdout.trim().split("\n").pop() ?? "")
      await run("tar", ["-xzf", tarball, "-C", work, "package/.jsii", "package/package.json"], { timeout: 300_000 })
      rmSync(tarball, { force: true })
      const manifest = JSON.parse(readFileSync(join(work, "package/package.json"), "utf8"))
      const generatedFrom = manifest?.cdktf?.provider?.version
      if (generatedFrom !== version.aws) {
        throw new Error(
          `@cdktf/provider-aws@${version.cdktf} was generated from hashicorp/aws ${generatedFrom}, not ${version.aws}`,
        )
      }
      const partial = `${file}.${process.pid}.tmp`
      await run(
        process.execPath,
        [
          "--max-old-space-size=4096",
          join(here, "provider-schema/extract.mjs"),
          join(work, "package/.jsii"),
          partial,
          version.aws,
        ],
        { timeout: 300_000 },
      )
      renameSync(partial, file)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }
  return JSON.parse(readFileSync(file, "utf8")) as Schema
}

const resourceMeta = new Set(["count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"])
const dynamicKeys = new Set(["for_each", "content", "iterator", "labels"])

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** Problems of one block body against its schema. */
const checkBlock = (body: Json, schema: Block, where: string, meta: ReadonlySet<string>): Array<string> => {
  const problems: Array<string> = []
  const objects = schema.objects ?? {}
  for (const [key, value] of Object.entries(body as Record<string, Json>)) {
    if (meta.has(key)) continue
    if (key === "dynamic") {
      for (const [name, uses] of Object.entries(value as Record<string, Array<Json>>)) {
        const nested = schema.blocks[name]
        if (nested === undefined) {
          problems.push(`${where}: dynamic "${name}": no block "${name}" here`)
          continue
        }
        for (const use of uses) {
          for (const k of Object.keys(use)) {
            if (!dynamicKeys.has(k)) problems.push(`${where}: dynamic "${name}": unsupported argument "${k}"`)
          }
          for (const content of use.content ?? []) {
            problems.push(...checkBlock(content, nested, `${where}.${name}`, new Set()))
          }
        }
      }
      continue
    }
    if (key in schema.args || key in objects) continue
    const nested = schema.blocks[key]
    if (nested === undefined) {
      problems.push(`${where}: unsupported argument or block "${key}"`)
      continue
    }
    if (!Array.isArray(value)) {
      problems.push(`${where}: "${key}" is a block: write ${key} { ... }, not ${key} = ...`)
      continue
    }
    for (const item of value) problems.push(...checkBlock(item, nested, `${where}.${key}`, new Set()))
  }
  const dynamic = (body as { dynamic?: Record<string, unknown> }).dynamic ?? {}
  for (const [name, arg] of Object.entries(schema.args)) {
    if (arg.required && !(name in body)) problems.push(`${where}: missing required argument "${name}"`)
  }
  for (const [name, nested] of [...Object.entries(schema.blocks), ...Object.entries(objects)]) {
    if (nested.required && !(name in body) && !(name in dynamic)) {
      problems.push(`${where}: missing required block "${name}"`)
    }
  }
  return problems
}

const referencePattern = {
  resource: /(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?\.([a-z_][a-z0-9_]*)/g,
  data: /(?<![\w.])data\.(aws_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?\.([a-z_][a-z0-9_]*)/g,
} as const

/**
 * Every problem of a parsed configuration (see Hcl.load) against a provider
 * schema, as `where: what` lines; empty when it is valid as far as the
 * provider's schema tells.
 */
export const check = (config: Config, schema: Schema): Array<string> => {
  const problems: Array<string> = []
  for (const [block, entries] of [
    ["resource", schema.resources],
    ["data", schema.dataSources],
  ] as const) {
    for (const [type, named] of Object.entries((config[block] ?? {}) as Record<string, Record<string, Array<Json>>>)) {
      const entry = entries[type]
      if (entry === undefined) {
        problems.push(
          `${block} "${type}": unknown ${block === "data" ? "data source" : "resource"} type in hashicorp/aws ${schema.version}`,
        )
        continue
      }
      for (const [name, bodies] of Object.entries(named)) {
        for (const body of bodies)
          problems.push(...checkBlock(body, entry, `${block === "data" ? "data." : ""}${type}.${name}`, resourceMeta))
      }
    }
  }
  const text = JSON.stringify(config)
  for (const [block, pattern, entries] of [
    ["resource", referencePattern.resource, schema.resources],
    ["data", referencePattern.data, schema.dataSources],
  ] as const) {
    for (const [reference, type, name, , attribute] of text.matchAll(pattern)) {
      const entry = entries[type!]
      const where = `reference ${reference}`
      if (entry === undefined) {
        problems.push(`${where}: unknown ${block === "data" ? "data source" : "resource"} type "${type}"`)
        continue
      }
      if (config[block]?.[type!]?.[name!] === undefined) {
        problems.push(`${where}: ${block === "data" ? "data." : ""}${type}.${name} is not declared in this module`)
      }
      if (!entry.attributes.includes(camel(attribute!))) {
        problems.push(`${where}: ${type} has no attribute "${attribute}" in hashicorp/aws ${schema.version}`)
      }
    }
  }
  return [...new Set(problems)]
}
