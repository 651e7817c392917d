/**
 * The global options are declared once on the root command; `hoist` lets them
 * be written anywhere on the command line.
 */
import { describe, expect, it } from "vitest"
import * as GlobalOptions from "../src/GlobalOptions.js"

describe("GlobalOptions", () => {
  it("knows which global options take a value and which are flags, from their declarations", () => {
    expect(GlobalOptions.names.get("--table")).toEqual({ takesValue: true })
    expect(GlobalOptions.names.get("--rps")).toEqual({ takesValue: true })
    expect(GlobalOptions.names.get("--format")).toEqual({ takesValue: true })
    expect(GlobalOptions.names.get("--dry-run")).toEqual({ takesValue: false })
    expect(GlobalOptions.names.get("--local")).toEqual({ takesValue: false })
    expect(GlobalOptions.names.size).toBe(Object.keys(GlobalOptions.options).length)
  })

  it("moves global options in front of the subcommand as one word each, and keeps everything else in order", () => {
    expect(GlobalOptions.hoist(["put", "docs.ndjson", "--dry-run", "--table", "demo", "--concurrency", "2"])).toEqual([
      "--dry-run",
      "--table=demo",
      "put",
      "docs.ndjson",
      "--concurrency",
      "2",
    ])
    expect(GlobalOptions.hoist(["query", "time", "--format=json", "--limit", "5"])).toEqual([
      "--format=json",
      "query",
      "time",
      "--limit",
      "5",
    ])
    // After `--` nothing is an option.
    expect(GlobalOptions.hoist(["put", "--", "--table", "x"])).toEqual(["put", "--", "--table", "x"])
  })
})
