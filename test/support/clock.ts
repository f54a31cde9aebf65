import type { Clock } from '../../src/clock.js';

/** A clock for unit tests: time stands still unless the test moves it; timers never fire. */
export function frozenClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => void (t += ms),
    setTimeout: () => undefined,
    clearTimeout: () => {},
    setInterval: () => undefined,
    clearInterval: () => {},
  };
}
