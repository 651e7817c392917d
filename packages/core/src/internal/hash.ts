/**
 * A stable 32-bit hash (FNV-1a over the UTF-16 code units): the same value in
 * every process and release, so that whatever it places (memory-layer scan
 * segments, `--shard I/N`, status index shards) stays where it was put.
 */
export const stableHash = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
