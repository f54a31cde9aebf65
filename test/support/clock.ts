import type { Clock, Timer } from '../../src/clock.js';

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
    setImmediate: () => undefined,
    clearImmediate: () => {},
  };
}

/**
 * A clock the test moves by hand: timers fire only when the test moves time, in order, each at
 * its own due time (`now()` reads that time inside the callback).
 */
export class ManualClock implements Clock {
  t: number;
  #id = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now = () => this.t;
  setTimeout = (fn: () => void, ms: number): Timer => {
    const id = ++this.#id;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (t: Timer) => void this.timers.delete(t as number);
  setInterval = (): Timer => {
    throw new Error('not used');
  };
  clearInterval = () => undefined;
  /** Due now: runs at the next advance(), advance(0) included. */
  setImmediate = (fn: () => void): Timer => this.setTimeout(fn, 0);
  clearImmediate = (t: Timer) => this.clearTimeout(t);

  advance(ms: number): void {
    const end = this.t + ms;
    while (this.runDue(end));
    this.t = end;
  }

  /** Runs the earliest timer due by `end`, moving time to it; false when none is. */
  protected runDue(end: number): boolean {
    const due = [...this.timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
    if (!due) return false;
    this.timers.delete(due[0]);
    this.t = due[1].at;
    due[1].fn();
    return true;
  }
}
