/**
 * Re-register backoff: exponential from INITIAL_BACKOFF_MS, capped, with "equal jitter" (a
 * delay in [d/2, d]). The cap bounds how long after etcd's return the next attempt starts, which
 * is what the "back within ~2 s" promise rests on; the jitter keeps a fleet of instances that
 * lost etcd together from re-granting in lock-step when it returns. There is deliberately no
 * attempt limit: kratos#3883 gave up after MaxRetry and the instance vanished for good.
 */
export const INITIAL_BACKOFF_MS = 100;

export function backoffDelay(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, INITIAL_BACKOFF_MS * 2 ** Math.min(Math.max(0, attempt), 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(exp / 2 + (r * exp) / 2);
}
