/**
 * Capped exponential backoff, the one implementation every retry loop uses (etcd mirror
 * reconnects, registry re-registration, the gRPC resolver's watch restarts, worker restarts).
 *
 * The delay before retry `attempt` (0-based) is initialMs·2^attempt, capped at maxMs. With
 * `equal` jitter it is a uniform pick in [d/2, d] ("equal jitter", AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): a fleet that lost etcd together does not come back in
 * lock-step, yet no wait is shorter than half the plain delay. The cap bounds how long after a
 * dependency's return the next attempt starts. There is no attempt limit: a caller that must
 * never give up (kratos#3883 gave up after MaxRetry and the instance vanished) simply goes on.
 *
 * Pure: the random source is passed in, and callers schedule the delay on their own clock.
 */
export interface BackoffPolicy {
  /** The delay before the first retry (attempt 0), before jitter. */
  readonly initialMs: number;
  /** No delay grows past this. */
  readonly maxMs: number;
  /** `equal`: uniform in [d/2, d]; `none`: exactly d (a single process, nothing to spread). */
  readonly jitter: 'equal' | 'none';
}

/** The delay in whole ms before retry `attempt` (0-based; negative or NaN counts as 0). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const n = attempt > 0 ? attempt : 0;
  // 2 ** n is Infinity for a huge n: the cap still applies.
  const d = Math.min(policy.maxMs, policy.initialMs * 2 ** n);
  if (policy.jitter === 'none') return Math.round(d);
  // A random source outside [0, 1] must not push the delay outside [d/2, d].
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(d / 2 + (r * d) / 2);
}

/** An attempt counter over a policy: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    return backoffDelay(this.policy, this.#attempt++, this.random);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
