/**
 * A light abort controller for the SDK calls on the hot path: its signal has what the AWS SDK
 * reads of an `abortSignal` (`aborted`, `reason`, `onabort`, `addEventListener` and
 * `removeEventListener` of `"abort"`, `throwIfAborted`), and nothing else. Node's
 * `AbortController` is an `EventTarget`: building one, and each listener the SDK adds and
 * removes on it per request, cost more CPU than a plain object with an array (measured over
 * canned services, packages/bench/profiles.md).
 *
 * Not a general `AbortSignal`: Node's own APIs that take a `signal` (`events.once`,
 * `stream.addAbortSignal`, `fetch`) check its class and refuse this one. Use it only where the
 * signal goes to the SDK's `send` or to code of ours that listens with `addEventListener`.
 *
 * @internal
 */

/** An abort listener: a function, or an object with `handleEvent` (as `EventTarget` allows). */
type Listener = ((event: AbortEvent) => void) | { readonly handleEvent: (event: AbortEvent) => void }

/** The event an abort dispatches: its `type` and `target`, as the SDK and our listeners read them. */
export interface AbortEvent {
  readonly type: "abort"
  readonly target: LightSignal
}

/** The signal of a {@link LightController}. */
export class LightSignal {
  aborted = false
  reason: unknown = undefined
  onabort: ((this: LightSignal, event: AbortEvent) => void) | null = null
  /** Listeners added and not removed; dropped once the signal has aborted. */
  listeners: Array<Listener> | undefined = undefined

  addEventListener(type: string, listener: Listener | null | undefined): void {
    // An aborted signal never fires again (as `EventTarget`: the event was dispatched already).
    if (type !== "abort" || listener == null || this.aborted) return
    const listeners = this.listeners
    if (listeners === undefined) this.listeners = [listener]
    else if (!listeners.includes(listener)) listeners.push(listener)
  }

  removeEventListener(type: string, listener: Listener | null | undefined): void {
    const listeners = this.listeners
    if (type !== "abort" || listeners === undefined) return
    const at = listeners.indexOf(listener as Listener)
    if (at >= 0) listeners.splice(at, 1)
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }
}

/** Reports a listener's exception as `EventTarget` does: uncaught, after the dispatch. */
const report = (error: unknown) =>
  queueMicrotask(() => {
    throw error
  })

/** A controller of a {@link LightSignal}: `abort` sets `aborted` and `reason` and calls the listeners once. */
export class LightController {
  readonly signal = new LightSignal()

  abort(reason?: unknown): void {
    const signal = this.signal
    if (signal.aborted) return
    signal.aborted = true
    signal.reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason
    const listeners = signal.listeners
    signal.listeners = undefined
    const event: AbortEvent = { type: "abort", target: signal }
    const call = (listener: Listener) => {
      try {
        if (typeof listener === "function") listener.call(signal, event)
        else listener.handleEvent(event)
      } catch (error) {
        report(error)
      }
    }
    if (signal.onabort !== null) call(signal.onabort)
    if (listeners !== undefined) for (const listener of listeners) call(listener)
  }
}

/** The signal as the SDK's `abortSignal` option types it (it reads only what {@link LightSignal} has). */
export const asAbortSignal = (signal: LightSignal): AbortSignal => signal as unknown as AbortSignal
