/**
 * Bounded waits. Every wait the SDK makes a caller sit through (the first sync with etcd,
 * register until the first grant) ends with a coded error at its deadline, at the caller's
 * abort, or when the registry closes - and, while it is pending, holds the event loop open.
 *
 * Why hold it: etcd3's sockets hold nothing while they are between reconnect attempts, and the
 * SDK's clock timers are unref'd, so a script whose only pending work was `await
 * registry.getService()` used to exit silently with code 13 ("unsettled top-level await").
 */
import type { Clock, Timer } from '../clock.js';
import { RegistryError } from './errors.js';

/** Per-call options of the waiting methods; an AbortSignal alone is accepted too. */
export interface WaitOptions {
  /** Ends the wait with ETCDNS_ERR_REGISTRY_ABORTED (the signal's reason as `cause`). */
  readonly signal?: AbortSignal;
  /** This call's deadline in ms, overriding the registry's default; `Infinity` waits for good. */
  readonly timeoutMs?: number;
}

export function waitOptions(arg: AbortSignal | WaitOptions | undefined): WaitOptions {
  if (arg === undefined) return {};
  if (isAbortSignal(arg)) return { signal: arg };
  return arg;
}

function isAbortSignal(x: unknown): x is AbortSignal {
  return typeof x === 'object' && x !== null && typeof (x as AbortSignal).aborted === 'boolean' && typeof (x as AbortSignal).addEventListener === 'function';
}

export function abortedError(signal: AbortSignal, what: string): RegistryError {
  return new RegistryError('ETCDNS_ERR_REGISTRY_ABORTED', `registry: ${what}: aborted`, { cause: signal.reason as unknown });
}

export interface BoundedWait {
  readonly what: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly clock: Clock;
  /** The message's tail on timeout (why it may have taken so long). */
  readonly hint?: string;
  /** What caused the timeout, if known (the last failed attempt), as the error's `cause`. */
  readonly cause?: () => unknown;
}

/** `p`, or a coded rejection at the deadline or on abort; holds the event loop while pending. */
export function bounded<T>(p: Promise<T>, o: BoundedWait): Promise<T> {
  if (o.signal?.aborted) return Promise.reject(abortedError(o.signal, o.what));
  let timer: Timer;
  let keepAlive: Timer;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    if (Number.isFinite(o.timeoutMs)) {
      timer = o.clock.setTimeout(() => {
        const cause = o.cause?.();
        reject(
          new RegistryError('ETCDNS_ERR_REGISTRY_TIMEOUT', `registry: ${o.what}: no result within ${o.timeoutMs} ms${o.hint ? ` (${o.hint})` : ''}`, cause === undefined ? undefined : { cause }),
        );
      }, o.timeoutMs);
      ref(timer);
    } else {
      // No deadline: something must still keep the process up while the caller awaits.
      keepAlive = o.clock.setInterval(() => undefined, 1 << 30);
      ref(keepAlive);
    }
    if (o.signal) {
      const signal = o.signal;
      onAbort = () => reject(abortedError(signal, o.what));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return Promise.race([p, limit]).finally(() => {
    if (timer !== undefined) o.clock.clearTimeout(timer);
    if (keepAlive !== undefined) o.clock.clearInterval(keepAlive);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  });
}

/** The real clock's timers are unref'd; a caller's wait is the one thing that must not be. */
function ref(timer: Timer): void {
  (timer as { ref?: () => unknown } | undefined)?.ref?.();
}
