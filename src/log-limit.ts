/**
 * At most one log line per interval for a kind of event a remote client can cause (a bad
 * packet, a bad signature, a name that cannot be answered): each such line costs a write, and a
 * flood of them is a denial of service of its own (disk, the log pipeline, the event loop). The
 * lines left out are counted and reported with the next one that is written.
 */
export class LogLimit {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = -Infinity;
  #suppressed = 0;

  /** `now`: milliseconds, monotonic (Clock.now). */
  constructor(now: () => number, intervalMs = 1000) {
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /**
   * Whether to log now; when true, `suppressed` is the number of lines left out since the last
   * one (read it for the line being written).
   */
  allow(): boolean {
    const now = this.#now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      return true;
    }
    this.#suppressed++;
    return false;
  }

  /** Lines left out since the last one logged; resets the count. */
  take(): number {
    const n = this.#suppressed;
    this.#suppressed = 0;
    return n;
  }
}
