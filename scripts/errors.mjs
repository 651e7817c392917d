#!/usr/bin/env node
// The error channels of the public API: every exported function, constant and
// interface member of core's and the CLI's public modules (`internal/` aside) whose
// type is, or returns, an Effect, Stream, Layer, Channel or Sink, with its error type.
// Prints those whose error channel is `unknown`, `any` or `Error` (alone or in a
// union), and counts those with `never`; `--all` prints every signature.
//
//   node scripts/errors.mjs                 # core and cli
//   node scripts/errors.mjs . core,lambda --all
import { readdirSync, statSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import ts from "typescript"

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const root = resolve(args[0] ?? ".")
const walk = (d) =>
  readdirSync(d).flatMap((n) => {
    const p = join(d, n)
    return statSync(p).isDirectory() ? (n === "internal" ? [] : walk(p)) : [p]
  })
const pkgs = (args[1] ?? "core,cli").split(",")
const files = pkgs.flatMap((p) =>
  walk(join(root, "packages", p, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
)
const config = ts.getParsedCommandLineOfConfigFile(
  join(root, "packages/cli/tsconfig.json"),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
)
const program = ts.createProgram(files, { ...config.options, noEmit: true })
const checker = program.getTypeChecker()
const carriers = new Set(["Effect", "Stream", "Layer", "Channel", "Sink"])
const errorOf = (type) => {
  const sym = type.aliasSymbol ?? type.getSymbol()
  const name = sym?.getName()
  if (!carriers.has(name)) return undefined
  const decl = sym.declarations?.[0]?.getSourceFile().fileName ?? ""
  if (!decl.includes("node_modules/effect/")) return undefined
  const args = type.aliasTypeArguments ?? checker.getTypeArguments(type)
  return args?.[1]
}
const bad = (e) => {
  const parts = e.isUnion() ? e.types : [e]
  return parts.some(
    (t) => (t.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) !== 0 || checker.typeToString(t) === "Error",
  )
}
const rows = []
const seen = new Set()
const inspect = (where, name, type, depth = 0) => {
  if (depth > 2) return
  const e = errorOf(type)
  if (e !== undefined) {
    rows.push({ where, name, error: checker.typeToString(e), bad: bad(e) })
    return
  }
  for (const sig of type.getCallSignatures()) inspect(where, `${name}()`, sig.getReturnType(), depth + 1)
}
for (const sf of program.getSourceFiles()) {
  if (!files.includes(sf.fileName)) continue
  const modSym = checker.getSymbolAtLocation(sf)
  if (!modSym) continue
  for (const exp of checker.getExportsOfModule(modSym)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp
    const decl = sym.declarations?.[0]
    if (!decl) continue
    const key = `${decl.getSourceFile().fileName}:${decl.pos}`
    const where = relative(root, sf.fileName)
    if (sym.flags & ts.SymbolFlags.Interface) {
      if (seen.has(key)) continue
      seen.add(key)
      const t = checker.getDeclaredTypeOfSymbol(sym)
      for (const prop of t.getProperties()) {
        const pt = checker.getTypeOfSymbolAtLocation(prop, decl)
        inspect(where, `${exp.getName()}.${prop.getName()}`, checker.getNonNullableType(pt))
      }
    } else if (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      if (seen.has(key)) continue
      seen.add(key)
      inspect(where, exp.getName(), checker.getTypeOfSymbolAtLocation(sym, decl))
    }
  }
}
const flagged = rows.filter((r) => r.bad)
const never = rows.filter((r) => r.error === "never")
if (process.argv.includes("--all"))
  for (const r of rows)
    console.log(
      `${r.bad ? "BAD  " : r.error === "never" ? "never" : "ok   "} ${r.where} ${r.name}: ${r.error.slice(0, 160)}`,
    )
else for (const r of flagged) console.log(`${r.where} ${r.name}: ${r.error.slice(0, 200)}`)
console.log(
  `${rows.length} exported Effect/Stream/Layer signatures; ${flagged.length} with unknown/any/Error in the error channel; ${never.length} with never`,
)
