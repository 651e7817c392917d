// Extracts a compact provider schema from the .jsii manifest of a
// @cdktf/provider-aws package: the bindings are generated from
// `terraform providers schema -json` of one hashicorp/aws version, and keep,
// per resource and data source, every argument and block (with its
// Terraform name in the docs link and whether it is optional) and every
// exported attribute (the class's getters).
//
// Usage: node --max-old-space-size=4096 extract.mjs <.jsii> <out.json> <aws version>
// Run in a child process: the manifest is ~130 MB of JSON.
import { readFileSync, writeFileSync } from "node:fs"

const [, , input, output, version] = process.argv
const jsii = JSON.parse(readFileSync(input, "utf8"))
const types = jsii.types

const anchorOf = (docs) => {
  const text = `${docs?.summary ?? ""} ${docs?.remarks ?? ""}`
  return /#([a-z0-9_]+) [A-Za-z0-9]+#[a-z0-9_]+\}/.exec(text)?.[1]
}

/** The provider struct a property's type refers to (directly, in a union, or as a list's element). */
const structOf = (type) => {
  if (type === undefined) return undefined
  if (type.fqn !== undefined) {
    const t = types[type.fqn]
    return t?.kind === "interface" && t.datatype === true ? type.fqn : undefined
  }
  if (type.union !== undefined) {
    for (const member of type.union.types) {
      const found = structOf(member)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (type.collection !== undefined) return structOf(type.collection.elementtype)
  return undefined
}

const block = (fqn, depth = 0) => {
  const args = {}
  const blocks = {}
  const attributes = {}
  for (const p of types[fqn]?.properties ?? []) {
    const name = anchorOf(p.docs)
    if (name === undefined) continue
    const nested = structOf(p.type)
    // The generator describes blocks as "NAME block."; nested attributes keep their description.
    const isBlock = nested !== undefined && new RegExp(`^${name} block\\.?$`).test(p.docs?.summary ?? "")
    if (isBlock && depth < 8) blocks[name] = { required: p.optional !== true, ...block(nested, depth + 1) }
    else if (nested !== undefined && depth < 8)
      attributes[name] = { required: p.optional !== true, ...block(nested, depth + 1) }
    else args[name] = { required: p.optional !== true }
  }
  return { args, blocks, ...(Object.keys(attributes).length > 0 ? { objects: attributes } : {}) }
}

const out = { provider: "registry.terraform.io/hashicorp/aws", version, resources: {}, dataSources: {} }
for (const [fqn, t] of Object.entries(types)) {
  if (t.kind !== "class") continue
  const summary = t.docs?.summary ?? ""
  const m = /docs\/(resources|data-sources)\/[a-z0-9_]+ (aws_[a-z0-9_]+)\}/.exec(summary)
  if (m === null) continue
  const config = `${fqn}Config`
  if (types[config] === undefined) continue
  const attributes = (t.properties ?? [])
    .filter((p) => p.static !== true && !p.name.endsWith("Input"))
    .map((p) => p.name)
    .sort()
  const entry = { ...block(config), attributes }
  if (m[1] === "resources") out.resources[m[2]] = entry
  else out.dataSources[m[2]] = entry
}
writeFileSync(output, JSON.stringify(out))
console.log(
  `hashicorp/aws ${version}: ${Object.keys(out.resources).length} resources, ${Object.keys(out.dataSources).length} data sources`,
)
