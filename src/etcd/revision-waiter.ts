/**
 * Waiting for this process's mirror to reach an etcd revision: a writer that committed at
 * revision R answers its client once the data it serves includes R (read your write), and
 * not before, without polling. Bounded: a mirror that is disconnected or re-listing must not
 * hold a client forever.
 */
import type { Clock, Timer } from '../clock.js';

export class RevisionWaiter {
  #revision = 0;
  readonly #waiting = new Set<{ readonly revision: number; readonly done: (reached: boolean) => void }>();

  constructor(private readonly clock: Clock) {}

  /** The mirror applied everything up to `revision` (it only grows). */
  advance(revision: number): void {
    if (revision <= this.#revision) return;
    this.#revision = revision;
    for (const w of this.#waiting) if (w.revision <= revision) w.done(true);
  }

  /** True once `revision` is reached; false after `timeoutMs` without. */
  reached(revision: number, timeoutMs: number): Promise<boolean> {
    if (revision <= this.#revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: Timer;
      const waiter = {
        revision,
        done: (reached: boolean) => {
          this.#waiting.delete(waiter);
          this.clock.clearTimeout(timer);
          resolve(reached);
        },
      };
      this.#waiting.add(waiter);
      timer = this.clock.setTimeout(() => waiter.done(false), timeoutMs);
    });
  }
}
