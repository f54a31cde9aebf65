/**
 * Opt-in graceful shutdown: on SIGTERM/SIGINT revoke every lease (so the instance leaves DNS and
 * discovery at once, instead of lingering for its TTL while clients keep calling a process that
 * is going away), then re-raise the signal so the process ends as it would have.
 */
import type { Registry } from './types.js';

export interface SignalHandlerOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Longest wait for close() and drain() together before re-raising anyway (default 5000 ms; keys then expire by TTL). */
  timeoutMs?: number;
  /**
   * Runs after close() has revoked the leases (the instance has left DNS and every watcher's
   * list): let in-flight calls finish before the process ends, e.g. wait briefly for clients
   * to drop this instance, then `server.tryShutdown()` / `httpServer.close()`. Without it the
   * signal is re-raised as soon as the leases are revoked, cutting calls in flight.
   */
  drain?: (signal: NodeJS.Signals) => Promise<void> | void;
  /** Called with close()'s failure, if any (close() itself never rejects). */
  onError?: (err: unknown) => void;
}

/**
 * Installs the handlers; returns a function that removes them. On the first signal: close the
 * registry, then the application's drain hook (both bounded by timeoutMs), remove these handlers, and send the same signal to this process again.
 * With no other listener left, Node's default action ends the process with that signal (exit
 * status 128+n), exactly as without us; if the application has its own listeners they run
 * instead and decide. A second signal while closing re-raises at once.
 */
export function installSignalHandlers(registry: Pick<Registry, 'close'>, options: SignalHandlerOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const timeoutMs = options.timeoutMs ?? 5000;
  let closing = false;
  let raised = false;
  let timer: NodeJS.Timeout | undefined;
  const reraise = (sig: NodeJS.Signals) => {
    // Once: a second signal re-raises at once, and the close/timeout race must not do it again.
    if (raised) return;
    raised = true;
    clearTimeout(timer);
    uninstall();
    process.kill(process.pid, sig);
  };
  const handler = (sig: NodeJS.Signals) => {
    if (closing) {
      reraise(sig);
      return;
    }
    closing = true;
    // A referenced timer: the process must stay up until the revokes are done.
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const closeThenDrain = async () => {
      await registry.close().catch((err: unknown) => options.onError?.(err));
      try {
        await options.drain?.(sig);
      } catch (err) {
        options.onError?.(err);
      }
    };
    void Promise.race([closeThenDrain(), timeout]).finally(() => reraise(sig));
  };
  const uninstall = () => {
    for (const s of signals) process.removeListener(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return uninstall;
}
