import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Sequencer from "../src/Sequencer.js"

/** A raw sequencer as S3 might spell it: any case, any number of leading zeros. */
const raw = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat({ max: 6 }), fc.boolean())
  .map(([n, zeros, upper]) => {
    const digits = "0".repeat(zeros) + n.toString(16)
    return { n, text: upper ? digits.toUpperCase() : digits }
  })

describe("Sequencer", () => {
  it("accepts hex of at most 32 significant digits, leading zeros not counted", () => {
    expect(Sequencer.isValid("0055aed6dcaa07a7b0")).toBe(true)
    expect(Sequencer.isValid("F".repeat(32))).toBe(true)
    expect(Sequencer.isValid(`00${"F".repeat(32)}`)).toBe(true)
    expect(Sequencer.isValid("F".repeat(33))).toBe(false)
    // Zeros that are not leading count: only the ones before the first other digit go.
    expect(Sequencer.isValid(`1${"0".repeat(32)}`)).toBe(false)
    for (const bad of ["", "0x1A", "12G", " 1A", "Happy Sequencer", "-1"]) expect(Sequencer.isValid(bad)).toBe(false)
  })

  it("normalises to 32 upper-case digits, dropping every leading zero", () => {
    expect(Sequencer.normalizeSequencer("0055aed6dcaa07a7b0")).toBe("0000000000000055AED6DCAA07A7B0".padStart(32, "0"))
    expect(Sequencer.normalizeSequencer(`00${"f".repeat(32)}`)).toBe("F".repeat(32))
    expect(Sequencer.normalizeSequencer("0")).toBe("0".repeat(32))
  })

  it("a value that is not a sequencer is a defect that names it", () => {
    expect(() => Sequencer.normalizeSequencer("Happy Sequencer")).toThrow(
      "Not an S3 sequencer of at most 32 hex digits: Happy Sequencer",
    )
    expect(() => Sequencer.normalizeSequencer("F".repeat(33))).toThrow(/at most 32 hex digits/)
    expect(() => Sequencer.compare("0A", "xyz")).toThrow(/xyz/)
  })

  it("compare refuses what is not a sequencer on either side: not hex, empty, or over 32 significant digits", () => {
    const long = "F".repeat(33)
    expect(() => Sequencer.compare("xyz", "0A")).toThrow("Not an S3 sequencer of at most 32 hex digits: xyz")
    expect(() => Sequencer.compare("", "0A")).toThrow(/at most 32 hex digits: $/)
    expect(() => Sequencer.compare("0A", "")).toThrow(/at most 32 hex digits: $/)
    expect(() => Sequencer.compare(long, "0A")).toThrow(`at most 32 hex digits: ${long}`)
    expect(() => Sequencer.compare("0A", long)).toThrow(`at most 32 hex digits: ${long}`)
    // Leading zeros do not count: 32 significant digits after one zero are a sequencer.
    expect(Sequencer.compare(`0${"F".repeat(32)}`, "0A")).toBe(1)
    expect(Sequencer.compare("0A", `0${"F".repeat(32)}`)).toBe(-1)
  })

  it("compare orders raw sequencers numerically, whatever their case and padding", () => {
    expect(Sequencer.compare("9", "0a")).toBe(-1)
    expect(Sequencer.compare("00B", "a")).toBe(1)
    expect(Sequencer.compare("0a", "A")).toBe(0)
  })

  it.prop(
    "normalised sequencers have one width and compare as strings the way compare and S3 (numerically) order them",
    [raw, raw],
    ([a, b]) => {
      const na = Sequencer.normalizeSequencer(a.text)
      const nb = Sequencer.normalizeSequencer(b.text)
      expect(na).toHaveLength(Sequencer.width)
      expect(na).toBe(a.n.toString(16).toUpperCase().padStart(Sequencer.width, "0"))
      const numeric = a.n < b.n ? -1 : a.n > b.n ? 1 : 0
      expect(Sequencer.compare(a.text, b.text)).toBe(numeric)
      expect(na < nb ? -1 : na > nb ? 1 : 0).toBe(numeric)
      // The same number spelled another way is the same sequencer.
      expect(Sequencer.compare(a.text, `0${a.n.toString(16).toUpperCase()}`)).toBe(0)
    },
    { fastCheck: { numRuns: 200 } },
  )

  it.prop(
    "isValid holds exactly for hex of at most 32 significant digits, and normalising a normalised sequencer returns it",
    [fc.string({ unit: fc.constantFrom(..."00aAfFgG9 x".split("")), maxLength: 40 })],
    ([text]) => {
      const expected = /^[0-9A-Fa-f]+$/.test(text) && text.replace(/^0+/, "").length <= Sequencer.width
      expect(Sequencer.isValid(text)).toBe(expected)
      if (expected) {
        const normalised = Sequencer.normalizeSequencer(text)
        expect(Sequencer.normalizeSequencer(normalised)).toBe(normalised)
        expect(Sequencer.compare(text, normalised)).toBe(0)
      } else expect(() => Sequencer.normalizeSequencer(text)).toThrow(/Not an S3 sequencer/)
    },
    { fastCheck: { numRuns: 300 } },
  )
})
