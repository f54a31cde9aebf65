import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { TransportEvent, TransportEventType } from './types.js';

/** Warnings of one kind are logged at most this often; the rest are counted. */
const WARN_INTERVAL_MS = 1000;

interface WarnState {
  at: number;
  suppressed: number;
}

/**
 * Events and warnings from the transport. Events go to the caller's callback every time
 * (they are meant for counters); warnings are rate-limited per kind, because a broken
 * handler or a flood of bad packets would otherwise turn into a log flood, which is its own
 * denial of service.
 */
export class Reporter {
  private readonly warned = new Map<string, WarnState>();

  constructor(
    readonly log: Logger,
    private readonly clock: Clock,
    private readonly onEvent: ((e: TransportEvent) => void) | undefined,
  ) {}

  event(type: TransportEventType, detail?: string): void {
    // The kinds that no warning already describes, logged here (rate-limited like warnings):
    // a dropped frame is a client's or a bug's doing; an idle timeout is routine (debug).
    if (type === 'frame-dropped') this.warn(type, undefined, `frame dropped: ${detail ?? ''}`, 'info');
    else if (type === 'tcp-timeout') this.warn(type, undefined, `tcp connection closed: ${detail ?? 'timeout'}`, 'debug');
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(detail === undefined ? { type } : { type, detail });
    } catch (err) {
      // The callback runs inside socket event handlers: a throw there would be an
      // uncaught exception and take the whole server down.
      this.warn('event-callback', err, 'transport onEvent callback threw');
    }
  }

  /** Logs (at warn level by default) unless a line of this kind was logged less than a second ago. */
  warn(kind: string, err: unknown, msg: string, level: 'warn' | 'info' | 'debug' = 'warn'): void {
    if (!this.log.isLevelEnabled(level)) return;
    const now = this.clock.now();
    const state = this.warned.get(kind);
    if (state !== undefined && now - state.at < WARN_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    if (state === undefined) this.warned.set(kind, { at: now, suppressed: 0 });
    else {
      state.at = now;
      state.suppressed = 0;
    }
    this.log[level]({ kind, err, suppressed }, msg);
  }

  handlerFailed(err: unknown): void {
    this.event('handler-error', errorText(err));
    this.warn('handler-error', err, 'query handler failed; no reply sent');
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
