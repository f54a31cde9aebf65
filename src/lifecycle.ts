/**
 * Start subsystems in order and stop them in reverse: what the composition root (src/app.ts)
 * runs. A subsystem that fails to start leaves the ones before it running; `stop()` then undoes
 * them (the rollback), so a failed start never leaks a socket, watcher or etcd connection.
 */
export class Lifecycle {
  readonly #started: { readonly name: string; readonly stop: () => Promise<void> | void }[] = [];
  readonly #onStopError: (name: string, error: unknown) => void;

  /** `onStopError`: told of a subsystem whose stop threw; the others still stop. */
  constructor(onStopError: (name: string, error: unknown) => void) {
    this.#onStopError = onStopError;
  }

  /** Starts one subsystem (awaited) and remembers how to stop it; returns what `start` made. */
  async start<T>(name: string, start: () => T | Promise<T>, stop: (started: T) => Promise<void> | void): Promise<T> {
    const started = await start();
    this.#started.push({ name, stop: () => stop(started) });
    return started;
  }

  /** Stops what was started, last first, each once; an error in one does not keep the rest running. */
  async stop(): Promise<void> {
    for (const s of this.#started.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (error) {
        this.#onStopError(s.name, error);
      }
    }
  }
}
