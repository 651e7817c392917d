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

const hex = /^[0-9A-Fa-f]+$/

/** Whether `sequencer` is a hex string that fits {@link width} after leading zeros are dropped. */
export const isValid = (sequencer: string): boolean =>
  hex.test(sequencer) && sequencer.replace(/^0+/, "").length <= width

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
  if (!isValid(sequencer)) throw new Error(`Not an S3 sequencer of at most ${width} hex digits: ${sequencer}`)
  return sequencer.replace(/^0+/, "").toUpperCase().padStart(width, "0")
}

/** Orders two sequencers (raw or normalised): negative when `a` is older than `b`. */
export const compare = (a: string, b: string): number => {
  const x = normalizeSequencer(a)
  const y = normalizeSequencer(b)
  return x < y ? -1 : x > y ? 1 : 0
}
