import { describe, expect, it } from 'vitest';
import { frozenClock } from '../../test/support/clock.js';
import { clientNetwork, DEFAULT_RATE_LIMIT_ENTRIES, ResponseRateLimiter, type RateLimitVerdict } from './response-rate-limiter.js';

/** A clock that moves only when told: the limiter never reads real time. */
function verdicts(limiter: ResponseRateLimiter, address: string, n: number): RateLimitVerdict[] {
  return Array.from({ length: n }, () => limiter.check(address));
}

const count = (vs: RateLimitVerdict[], v: RateLimitVerdict) => vs.filter((x) => x === v).length;

describe('ResponseRateLimiter (token bucket per client network)', () => {
  it('lets a burst of one second through, then limits to the rate as time passes', () => {
    const clock = frozenClock();
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 10, slip: 0, clock });
    expect(verdicts(limiter, '192.0.2.1', 10)).toEqual(Array(10).fill('send'));
    expect(verdicts(limiter, '192.0.2.1', 5)).toEqual(Array(5).fill('drop'));
    clock.advance(100); // one token back
    expect(verdicts(limiter, '192.0.2.1', 2)).toEqual(['send', 'drop']);
    clock.advance(250); // 2.5 tokens
    expect(count(verdicts(limiter, '192.0.2.1', 5), 'send')).toBe(2);
    // A long pause refills to one second's worth, no more.
    clock.advance(60_000);
    expect(count(verdicts(limiter, '192.0.2.1', 50), 'send')).toBe(10);
    expect(limiter.dropped).toBe(5 + 1 + 3 + 40);
  });

  it('holds a steady flood to the rate: over 10 simulated seconds, rate x 10 (+ the first burst) get through', () => {
    const clock = frozenClock();
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 100, slip: 0, clock });
    let sent = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      // 10 queries per millisecond: 10 000 per second, 100 times the limit.
      for (let i = 0; i < 10; i++) if (limiter.check('198.51.100.7') === 'send') sent++;
      clock.advance(1);
    }
    expect(sent).toBeGreaterThanOrEqual(100 * 10);
    expect(sent).toBeLessThanOrEqual(100 * 10 + 100 + 1);
  });

  it('slips every Nth limited reply (BIND slip): 2 is every other, 1 is all, 0 is none', () => {
    for (const [slip, expected] of [
      [2, ['drop', 'slip', 'drop', 'slip', 'drop', 'slip']],
      [1, ['slip', 'slip', 'slip', 'slip', 'slip', 'slip']],
      [3, ['drop', 'drop', 'slip', 'drop', 'drop', 'slip']],
      [0, ['drop', 'drop', 'drop', 'drop', 'drop', 'drop']],
    ] as const) {
      const limiter = new ResponseRateLimiter({ responsesPerSecond: 1, slip, clock: frozenClock() });
      expect(limiter.check('10.0.0.1')).toBe('send');
      expect(verdicts(limiter, '10.0.0.1', 6), `slip ${slip}`).toEqual(expected);
      expect(limiter.slipped + limiter.dropped).toBe(6);
    }
  });

  it('counts a /24 (IPv4) or a /56 (IPv6) as one client, so forged sources in one subnet share a bucket', () => {
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 3, slip: 0, clock: frozenClock() });
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.254', '192.0.2.9'].map((a) => limiter.check(a))).toEqual(['send', 'send', 'send', 'drop']);
    // Another /24, and the same /24 seen through a dual-stack socket (IPv4-mapped).
    expect(limiter.check('192.0.3.1')).toBe('send');
    expect(limiter.check('::ffff:192.0.2.77')).toBe('drop');
    expect(['2001:db8:0:ab00::1', '2001:db8:0:abff:ffff::2', '2001:db8:0:ab12::3', '2001:db8:0:ab34::4'].map((a) => limiter.check(a))).toEqual([
      'send',
      'send',
      'send',
      'drop',
    ]);
    expect(limiter.check('2001:db8:0:ac00::1')).toBe('send');
  });

  it('maps addresses to their networks', () => {
    expect(clientNetwork('192.0.2.55')).toBe('192.0.2');
    expect(clientNetwork('::ffff:192.0.2.55')).toBe('192.0.2');
    expect(clientNetwork('2001:db8:1:2ff::1')).toBe('20010db8000102::/56');
    expect(clientNetwork('2001:DB8:1:200::')).toBe('20010db8000102::/56');
    expect(clientNetwork('fe80::1%eth0')).toBe(clientNetwork('fe80::2'));
    expect(clientNetwork('::1')).toBe('00000000000000::/56');
  });

  it('keeps memory bounded and time per packet constant: a million distinct networks (forged sources)', () => {
    const clock = frozenClock();
    const limiter = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2, clock });
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      limiter.check(`${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.1`);
      if (i % 997 === 0) limiter.check('203.0.113.5'); // a flood that keeps its own bucket fresh
    }
    expect(limiter.size).toBe(DEFAULT_RATE_LIMIT_ENTRIES);
    // Evicting an entry per packet stays O(1): about 1 µs a packet (a Map used as an LRU took
    // 27 µs here, which would make forged random sources a cheap way to burn our CPU).
    expect(performance.now() - started).toBeLessThan(15_000);
    // The flood's bucket survived the churn (it is recently used): it is still limited.
    expect(limiter.check('203.0.113.5')).not.toBe('send');
  });

  it('refuses nonsense settings', () => {
    const clock = frozenClock();
    expect(() => new ResponseRateLimiter({ responsesPerSecond: 0, slip: 2, clock })).toThrow(/positive/);
    expect(() => new ResponseRateLimiter({ responsesPerSecond: 5, slip: -1, clock })).toThrow(/slip/);
    expect(() => new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2, clock, maxEntries: 0 })).toThrow(/maxEntries/);
    const small = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 2, clock, maxEntries: 3 });
    for (const a of ['10.0.1.1', '10.0.2.1', '10.0.3.1', '10.0.4.1']) small.check(a);
    expect(small.size).toBe(3);
  });
});
