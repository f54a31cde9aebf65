/**
 * Time, passed in rather than read from globals, so that tests drive it (vitest fake timers
 * or a hand-made Clock) and nothing sleeps for logic.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(timer: Timer): void;
  /**
   * Runs `fn` after the I/O events already received (Node's check phase). Unlike a 0 ms
   * timeout, which Node fires 1 ms later at the soonest, on a wake-up of its own.
   */
  setImmediate(fn: () => void): Timer;
  clearImmediate(timer: Timer): void;
}

export type Timer = { unref?(): unknown } | number | undefined;

/** The real clock. Timers are unref'd: they never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (t) => clearInterval(t as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn).unref(),
  clearImmediate: (t) => clearImmediate(t as NodeJS.Immediate),
};
