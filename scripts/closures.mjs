#!/usr/bin/env node
// The long function bodies of the packages' source (core, local, cli, lambda; tests,
// bench and scripts aside): every arrow, function expression, generator, declaration or
// method longer than LIMIT lines, longest first, named by the declarations around it
// (`make > Effect.gen(…)` is the generator passed to Effect.gen inside `make`). A body
// this long is usually several steps that want names of their own.
//
//   node scripts/closures.mjs        # limit 80
//   node scripts/closures.mjs 60
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const limit = Number(process.argv[2] ?? 80)

const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

const files = ["core", "local", "cli", "lambda"].flatMap((pkg) =>
  walk(join(root, "packages", pkg, "src")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
)

const isFunction = (node) =>
  ts.isArrowFunction(node) ||
  ts.isFunctionExpression(node) ||
  ts.isFunctionDeclaration(node) ||
  ts.isMethodDeclaration(node)

const nameOf = (node) => {
  const parent = node.parent
  if (node.name !== undefined && ts.isIdentifier(node.name)) return node.name.text
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text
  if (ts.isPropertyAssignment(parent)) return parent.name.getText()
  if (ts.isCallExpression(parent)) return `${parent.expression.getText().replace(/\s+/g, "").slice(0, 30)}(…)`
  return "<anonymous>"
}

const rows = []
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const lineOf = (position) => source.getLineAndCharacterOfPosition(position).line + 1
  const visit = (node, trail) => {
    let next = trail
    if (isFunction(node)) {
      next = [...trail, nameOf(node)]
      const lines = lineOf(node.getEnd()) - lineOf(node.getStart()) + 1
      if (lines > limit)
        rows.push({ lines, at: `${relative(root, file)}:${lineOf(node.getStart())}`, name: next.join(" > ") })
    } else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) {
      next = [...trail, node.name.text]
    }
    ts.forEachChild(node, (child) => visit(child, next))
  }
  visit(source, [])
}

rows.sort((a, b) => b.lines - a.lines)
for (const row of rows) console.log(`${String(row.lines).padStart(5)}  ${row.at.padEnd(58)} ${row.name}`)
console.log(`${rows.length} function bodies over ${limit} lines`)
