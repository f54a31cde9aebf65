import { describe, expect, it } from 'vitest';
import { INVALID_REASONS, invalidReasonLabel } from './invalid-reason.js';
import { parseService, splitKey } from '../../skydns/codec.js';

const value = (s: string) => new TextEncoder().encode(s);
const reasonOf = (r: { error: string } | object) => ('error' in r ? r.error : 'valid');

describe('invalidReasonLabel', () => {
  it('maps the codec’s real reasons to their labels', () => {
    const cases: [string, string][] = [
      [reasonOf(splitKey('/skydns/test/a//b', '/skydns')), 'key'],
      [reasonOf(splitKey('/skydns/test/a b', '/skydns')), 'key'],
      [reasonOf(splitKey('/other/x', '/skydns')), 'key'],
      [reasonOf(parseService(value('{'))), 'json'],
      [reasonOf(parseService(value('[1]'))), 'not-object'],
      [reasonOf(parseService(new Uint8Array([0xff, 0xfe]))), 'utf8'],
      [reasonOf(parseService(value('{"host":"1.2.3.4","port":"x"}'))), 'port'],
      [reasonOf(parseService(value('{"host":"1.2.3.999"}'))), 'host'],
      [reasonOf(parseService(value('{"host":"a","ttl":-1}'))), 'ttl'],
      [reasonOf(parseService(new Uint8Array(70_000))), 'value-size'],
    ];
    for (const [reason, label] of cases) expect([reason, invalidReasonLabel(reason)]).toEqual([reason, label]);
    for (const kind of ['skipped-change', 'skipped-batch', 'skipped-callback']) expect(invalidReasonLabel(kind)).toBe(kind);
  });

  it('gives a label from the closed set whatever the text (5,000 distinct keys: a bounded set)', () => {
    const labels = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const key = `/skydns/test/bad\u0001${i}/x`;
      labels.add(invalidReasonLabel(reasonOf(splitKey(key, '/skydns'))));
      labels.add(invalidReasonLabel(`${key}: something ${i}`));
      labels.add(invalidReasonLabel(`label "${key}" may only hold letters`));
    }
    for (const l of labels) expect(INVALID_REASONS).toContain(l);
    expect(labels.size).toBeLessThanOrEqual(3);
  });
});
