import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as DocumentKind from "../src/DocumentKind.js"
import * as S3Key from "../src/S3Key.js"

const registry = DocumentKind.defaultRegistry

describe("S3Key", () => {
  it("lays out and parses document keys under a prefix", () => {
    expect(S3Key.forDocument("", DocumentKind.change, "CHG-1")).toBe("changes/CHG-1.json")
    expect(S3Key.forDocument("tenant a/é+/", DocumentKind.announcement, "ANN-9")).toBe(
      "tenant a/é+/announcements/ANN-9.json",
    )
    expect(S3Key.parse("tenant a/é+/", "tenant a/é+/announcements/ANN-9.json", registry)).toStrictEqual(
      Option.some({ kind: "announcement", id: "ANN-9" }),
    )
    expect(S3Key.parse("", "customers/acme/changes/CHG-1.json", registry)).toStrictEqual(
      Option.some({ kind: "change", id: "CHG-1", customer: "acme" }),
    )
  })

  it("skips keys that are not documents", () => {
    for (const key of [
      "changes/CHG-1.txt",
      "changes/ANN-1.json",
      "memos/CHG-1.json",
      "changes/",
      "changes/CHG-a b.json",
      "other/changes/CHG-1.json",
      "test-key",
    ]) {
      expect(S3Key.parse("", key, registry), key).toStrictEqual(Option.none())
    }
  })

  it("parses only keys under the prefix, ending in .json, with an id of 1 to 64 characters after the kind's prefix", () => {
    // Same length as the prefix but another folder: slicing blindly would parse it.
    expect(S3Key.parse("x/", "y/changes/CHG-1.json", registry)).toStrictEqual(Option.none())
    // A customers/ segment counts only at the start of the key (after the prefix).
    expect(S3Key.parse("", "other/customers/acme/changes/CHG-1.json", registry)).toStrictEqual(Option.none())
    // Not .json, although cutting five characters off would leave a valid id.
    expect(S3Key.parse("", "changes/CHG-123456789", registry)).toStrictEqual(Option.none())
    const longest = `CHG-${"a".repeat(64)}`
    expect(S3Key.parse("", `changes/${longest}.json`, registry)).toStrictEqual(
      Option.some({ kind: "change", id: longest }),
    )
    expect(S3Key.parse("", `changes/CHG-${"a".repeat(65)}.json`, registry)).toStrictEqual(Option.none())
    expect(S3Key.parse("", "changes/CHG-2026-000123.json", registry)).toStrictEqual(
      Option.some({ kind: "change", id: "CHG-2026-000123" }),
    )
  })

  it("a key that is not URL encoding is a KeyDecodeError naming the key", () => {
    const result = S3Key.decodeEventKey("changes/bad%E0%A4%A.json")
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left).toMatchObject({ _tag: "KeyDecodeError", key: "changes/bad%E0%A4%A.json" })
      expect(result.left.message).toContain("changes/bad%E0%A4%A.json")
      expect(result.left.cause).toBeInstanceOf(URIError)
    }
  })

  it("encodes the characters encodeURIComponent leaves alone the way S3 does (upper-case hex)", () => {
    expect(S3Key.encodeEventKey("a!b'c(d)e*f g+h/i.json")).toBe("a%21b%27c%28d%29e%2Af+g%2Bh/i.json")
  })

  it("decodes event keys: + is a space, then percent-decoding", () => {
    expect(S3Key.decodeEventKey("a+b%2Bc%C3%A9%20d.json")).toStrictEqual(Either.right("a b+cé d.json"))
    expect(Either.isLeft(S3Key.decodeEventKey("bad%E0%A4%A"))).toBe(true)
  })

  it.prop(
    "encodeEventKey and decodeEventKey are inverse for any key (spaces, +, unicode)",
    [fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 })],
    ([key]) => {
      expect(S3Key.decodeEventKey(S3Key.encodeEventKey(key))).toStrictEqual(Either.right(key))
      expect(S3Key.encodeEventKey(key)).not.toMatch(/ /)
    },
    { fastCheck: { numRuns: 200 } },
  )
})
