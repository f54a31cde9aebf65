/**
 * The abuse limits' counts (--rate-limit, --forward-max-concurrent). The limiter and the
 * forwarder keep them (no metric calls on the hot path); they are copied into counters at
 * scrape time so Prometheus can rate() them.
 */
import { Counter, type Registry } from 'prom-client';

export interface LimitCounts {
  rateLimitDropped: number;
  rateLimitSlipped: number;
  forwardRefused: number;
  /** Log lines dropped by the log sink (a stalled reader, a full disk, a closed pipe). */
  logDropped: number;
}

/** Counters that call `read` at each scrape. */
export function registerLimitCounters(registry: Registry, read: () => LimitCounts): void {
  const counters: [name: string, help: string, pick: (v: LimitCounts) => number][] = [
    ['etcdns_ratelimit_dropped_total', 'UDP replies dropped by --rate-limit.', (v) => v.rateLimitDropped],
    ['etcdns_ratelimit_slipped_total', 'UDP replies sent truncated (TC=1) instead of dropped by --rate-limit-slip.', (v) => v.rateLimitSlipped],
    ['etcdns_forward_refused_over_limit_total', 'Queries refused because --forward-max-concurrent were already in flight.', (v) => v.forwardRefused],
    ['etcdns_log_lines_dropped_total', 'Log lines dropped: stdout not keeping up (4 MiB queued) or a failed write (full disk, closed pipe).', (v) => v.logDropped],
  ];
  for (const [name, help, pick] of counters) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(read()));
      },
    });
  }
}
