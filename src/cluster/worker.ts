/**
 * A `--workers` worker's side of the IPC channel to the primary. The worker answers DNS on
 * sockets it shares with its siblings; the primary serves /health, /ready and /metrics for
 * all of them and decides when they stop. This link is how the worker tells it "listening",
 * "ready or not, and why", hands over its metrics when the primary is scraped, and hears
 * "shut down".
 */
import { systemClock, type Clock, type Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Readiness } from '../ops/http.js';
import { isPrimaryMessage, readinessMessage, type WorkerMessage } from './protocol.js';

/** The parts of `process` (in a cluster worker) this link uses; tests pass an EventEmitter. */
export interface IpcChannel {
  send?(message: unknown, sendHandle?: undefined, options?: undefined, callback?: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** What the worker reports; the composition root wires its Metrics and readiness check in. */
export interface WorkerReports {
  /** prom-client `registry.getMetricsAsJSON()`. */
  metrics(): Promise<unknown[]>;
  isReady(): Readiness;
}

/**
 * Readiness is polled here rather than pushed by the sources: it is one cheap call, and a
 * change (etcd's initial sync done) reaches the primary's /ready within this time.
 */
export const READINESS_POLL_MS = 200;

export class WorkerLink {
  readonly #channel: IpcChannel;
  readonly #clock: Clock;
  #reports: WorkerReports | undefined;
  #lastReadiness = '';
  #poll: Timer;
  readonly #onMessage = (message: unknown): void => this.#handle(message);
  readonly #shutdownListeners = new Set<() => void>();

  constructor(channel: IpcChannel, clock: Clock = systemClock) {
    this.#channel = channel;
    this.#clock = clock;
    channel.on('message', this.#onMessage);
  }

  /** From now on, answer metrics requests and keep the primary's view of our readiness current. */
  serve(reports: WorkerReports): void {
    this.#reports = reports;
    this.#pushReadiness();
    this.#poll ??= this.#clock.setInterval(() => this.#pushReadiness(), READINESS_POLL_MS);
  }

  listening(addresses: readonly string[]): void {
    this.#send({ etcdns: 'listening', addresses: [...addresses] });
    // Readiness waits for the listeners (app.ts): say so now, not at the next poll.
    this.#pushReadiness();
  }

  /**
   * Calls `listener` once, when the primary says to shut down. The primary decides when
   * workers stop (it drains /ready first); a signal sent to a worker alone is its own
   * request to stop, and the primary will start a new one.
   */
  onShutdown(listener: () => void): () => void {
    this.#shutdownListeners.add(listener);
    return () => this.#shutdownListeners.delete(listener);
  }

  close(): void {
    this.#clock.clearInterval(this.#poll);
    this.#poll = undefined;
    this.#channel.off('message', this.#onMessage);
  }

  #handle(message: unknown): void {
    if (!isPrimaryMessage(message)) return;
    if (message.etcdns === 'shutdown') {
      const listeners = [...this.#shutdownListeners];
      this.#shutdownListeners.clear();
      for (const l of listeners) l();
      return;
    }
    void this.#answerMetrics(message.id);
  }

  async #answerMetrics(id: number): Promise<void> {
    if (!this.#reports) return this.#send({ etcdns: 'metrics', id, error: 'not serving yet' });
    try {
      this.#send({ etcdns: 'metrics', id, metrics: await this.#reports.metrics() });
    } catch (error) {
      this.#send({ etcdns: 'metrics', id, error: errorMessage(error) });
    }
  }

  #pushReadiness(): void {
    if (!this.#reports) return;
    let readiness: Readiness;
    try {
      readiness = this.#reports.isReady();
    } catch (error) {
      readiness = { ready: false, reasons: [`readiness check failed: ${errorMessage(error)}`] };
    }
    const key = JSON.stringify(readiness);
    if (key === this.#lastReadiness) return;
    this.#lastReadiness = key;
    this.#send(readinessMessage(readiness));
  }

  #send(message: WorkerMessage): void {
    // The channel is gone when the primary died; Node's cluster then ends this process anyway.
    if (this.#channel.connected === false || !this.#channel.send) return;
    this.#channel.send(message, undefined, undefined, () => {});
  }
}
