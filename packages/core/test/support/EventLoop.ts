/**
 * Letting the test worker's event loop turn during long property tests.
 *
 * An async fast-check property over the memory layers and `TestClock` never
 * waits on I/O or a real timer: its hundreds of runs are one chain of
 * microtasks, and the Vitest worker cannot answer its main process meanwhile.
 * Past 60 s (a loaded machine) the run fails with "Timeout calling
 * onTaskUpdate", whatever the property says. S3EventSync's 300 runs took 16.9 s
 * with no turn on an idle machine and 102 s at load 29.
 */
import * as Effect from "effect/Effect"

/** One turn of the event loop (`setImmediate`): the first step of each property run. */
export const yieldTurn: Effect.Effect<void> = Effect.promise(
  () => new Promise<void>((resolve) => setImmediate(resolve)),
)
