/**
 * S3 event sequencers, normalised so that plain string comparison (in code and
 * in a DynamoDB `ConditionExpression`) orders them the way S3 does.
 *
 * AWS says: to compare two sequencers of the same key, left-pad the shorter hex
 * string with zeros, then compare as strings. Docket stores every sequencer
 * upper-cased and left-padded to {@link width} hex digits, so any two stored
 * sequencers have the same length and compare correctly as strings.
 *
 * @since 0.1.0
 */

/** The width of a normalised sequencer: 32 hex digits (S3 sequencers are 16-20 today). */
export const width = 32

/**
 * The value of a hex digit's char code, upper-case (`a`-`f` as `A`-`F`), or -1. Char codes, not
 * regular expressions or new strings: every record's sequencer is checked and compared, and
 * this keeps both allocation-free.
 */
const digitOf = (code: number): number =>
  code >= 48 && code <= 57 ? code : code >= 65 && code <= 70 ? code : code >= 97 && code <= 102 ? code - 32 : -1

/** Where the significant digits of `sequencer` begin (its length when all are zeros), or -1 when it is not hex. */
const significantStart = (sequencer: string): number => {
  if (sequencer.length === 0) return -1
  let start = -1
  for (let i = 0; i < sequencer.length; i++) {
    const code = sequencer.charCodeAt(i)
    if (digitOf(code) < 0) return -1
    if (start < 0 && code !== 48) start = i
  }
  return start < 0 ? sequencer.length : start
}

/** Whether `sequencer` is a hex string that fits {@link width} after leading zeros are dropped. */
export const isValid = (sequencer: string): boolean => {
  const start = significantStart(sequencer)
  return start >= 0 && sequencer.length - start <= width
}

/** Whether `sequencer` is already normalised: {@link width} digits, none lower-case. */
const isNormalized = (sequencer: string): boolean => {
  if (sequencer.length !== width) return false
  for (let i = 0; i < width; i++) {
    const code = sequencer.charCodeAt(i)
    if (digitOf(code) !== code) return false
  }
  return true
}

const invalid = (sequencer: string) => new Error(`Not an S3 sequencer of at most ${width} hex digits: ${sequencer}`)

/**
 * Upper-cases and left-pads a sequencer to {@link width} digits. A value longer
 * than `width` significant digits is a defect (S3 has never produced one).
 *
 * @example
 * ```ts
 * normalizeSequencer("0055aed6dcaa07a7b0") // "0000000000000055AED6DCAA07A7B0"
 * ```
 */
export const normalizeSequencer = (sequencer: string): string => {
  // A stored sequencer is normalised already: returned as it is.
  if (isNormalized(sequencer)) return sequencer
  const start = significantStart(sequencer)
  if (start < 0 || sequencer.length - start > width) throw invalid(sequencer)
  return sequencer.slice(start).toUpperCase().padStart(width, "0")
}

/** Orders two sequencers (raw or normalised): negative when `a` is older than `b`. */
export const compare = (a: string, b: string): number => {
  const x = significantStart(a)
  const y = significantStart(b)
  if (x < 0 || a.length - x > width) throw invalid(a)
  if (y < 0 || b.length - y > width) throw invalid(b)
  // Without their leading zeros, the longer is the larger; of two as long, the first digit that differs decides.
  const digits = a.length - x
  if (digits !== b.length - y) return digits < b.length - y ? -1 : 1
  for (let i = 0; i < digits; i++) {
    const d = digitOf(a.charCodeAt(x + i)) - digitOf(b.charCodeAt(y + i))
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}
