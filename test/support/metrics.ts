/** Helpers for the metrics unit tests in src/ops/ (kept out of src/ so the build does not ship them). */
import type { Registry } from 'prom-client';
import type { Clock } from '../../src/clock.js';
import { Rcode, RRType } from '../../src/dns/constants.js';
import type { QueryObservation } from '../../src/ops/query-metrics.js';

/** A clock that only moves when told; timers are never needed by the metrics. */
export function fakeClock(start = 1_000_000): Clock & { t: number } {
  const clock = {
    t: start,
    now: () => clock.t,
    setTimeout: () => undefined,
    clearTimeout: () => {},
    setInterval: () => undefined,
    clearInterval: () => {},
    setImmediate: () => undefined,
    clearImmediate: () => {},
  };
  return clock;
}

/** An A query for example.com over UDP, answered NOERROR in 60 bytes just now, with `over` changed. */
export function query(clock: { t: number }, over: Partial<QueryObservation> = {}): QueryObservation {
  return { transport: 'udp', zone: 'example.com', type: RRType.A, rcode: Rcode.NOERROR, size: 60, truncated: false, startedAt: clock.t, ...over };
}

/** Sample lines of the exposition (no # HELP / # TYPE), in order. */
export async function scrape(registry: Pick<Registry, 'metrics'>): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** The sample lines of one metric family (exact name, or name + `_bucket` / `_sum` / `_count`). */
export function family(lines: readonly string[], name: string): string[] {
  return lines.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}
