/**
 * The checkpoint of a resumable run over a listing processed out of order: the
 * key of the highest position whose predecessors all succeeded. Memory is
 * bounded by the positions in flight; after the first failure the checkpoint
 * cannot move again, so later positions are not kept at all.
 */
import * as Option from "effect/Option"

/** Tracks which listing positions are done and yields the checkpoint. */
export const make = () => {
  const pending = new Map<number, string>()
  let next = 0
  let blocked = false
  let checkpoint: Option.Option<string> = Option.none()
  return {
    /** Records that position `index` (holding `key`) finished; returns the checkpoint. */
    complete: (index: number, key: string, ok: boolean): Option.Option<string> => {
      if (blocked) return checkpoint
      if (!ok) {
        if (index === next) blocked = true
        else pending.set(index, "")
        // A failure ahead of `next` blocks once `next` reaches it.
      } else {
        pending.set(index, key)
      }
      while (!blocked) {
        const done = pending.get(next)
        if (done === undefined) break
        pending.delete(next)
        if (done === "") {
          blocked = true
          pending.clear()
          break
        }
        checkpoint = Option.some(done)
        next += 1
      }
      if (blocked) pending.clear()
      return checkpoint
    },
    get checkpoint() {
      return checkpoint
    },
    /** Positions finished but held back by an earlier one still running. */
    get held() {
      return pending.size
    },
  }
}
