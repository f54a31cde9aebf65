import { describe, expect, it } from 'vitest';
import type { IKeyValue, IWatchResponse } from 'etcd3';
import { prefixRangeEnd, rawEvents, rawKv } from './etcd-kv.js';

const bytes = (s: string) => Buffer.from(s);
const ikv = (key: string, value: string, mod: number, version: number, lease = '0'): IKeyValue =>
  ({ key: Buffer.from(key), value: Buffer.from(value), mod_revision: String(mod), create_revision: String(mod), version: String(version), lease }) as unknown as IKeyValue;

describe('prefixRangeEnd', () => {
  it('is the prefix with its last byte incremented, trailing 0xff dropped', () => {
    expect(prefixRangeEnd(bytes('/skydns/'))).toEqual(Buffer.from('/skydns0'));
    expect(prefixRangeEnd(Uint8Array.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from('b'));
    expect(prefixRangeEnd(Uint8Array.from([0xff]))).toEqual(Buffer.from([0]));
    expect(prefixRangeEnd(new Uint8Array())).toEqual(Buffer.from([0]));
  });
});

describe('rawKv', () => {
  it('decodes etcd3 strings to numbers, and lease "0" or "" to no lease', () => {
    expect(rawKv(ikv('/skydns/a', 'v', 42, 3, '7587862072066000001'))).toEqual({
      key: '/skydns/a',
      value: bytes('v'),
      lease: '7587862072066000001',
      modRevision: 42,
      version: 3,
    });
    expect(rawKv(ikv('/a', '', 1, 1, '0')).lease).toBeUndefined();
    expect(rawKv(ikv('/a', '', 1, 1, '')).lease).toBeUndefined();
  });

  it('keeps the value as a view of the message buffer (no ArrayBuffer per key)', () => {
    const message = Buffer.from('xxhelloxx');
    const kv = { ...ikv('/a', '', 1, 1), value: message.subarray(2, 7) } as IKeyValue;
    const decoded = rawKv(kv);
    expect(Buffer.from(decoded.value).toString()).toBe('hello');
    expect(decoded.value.buffer).toBe(message.buffer);
  });
});

describe('rawEvents', () => {
  it('gives puts and deletes with the previous mod revision when etcd sent prev_kv', () => {
    const res = {
      events: [
        { type: 'Put', kv: ikv('/a', 'v2', 12, 2), prev_kv: ikv('/a', 'v1', 9, 1) },
        { type: 'Put', kv: ikv('/b', 'v', 13, 1) },
        { type: 'Delete', kv: ikv('/a', '', 14, 0), prev_kv: ikv('/a', 'v2', 12, 2) },
        { type: 'Delete', kv: ikv('/c', '', 15, 0) },
      ],
    } as unknown as IWatchResponse;
    expect(rawEvents(res)).toEqual([
      { type: 'put', kv: { key: '/a', value: bytes('v2'), lease: undefined, modRevision: 12, version: 2 }, prevModRevision: 9 },
      { type: 'put', kv: { key: '/b', value: bytes('v'), lease: undefined, modRevision: 13, version: 1 }, prevModRevision: undefined },
      { type: 'delete', key: '/a', modRevision: 14, prevModRevision: 12 },
      // etcd omits prev_kv when the previous revision is compacted.
      { type: 'delete', key: '/c', modRevision: 15, prevModRevision: undefined },
    ]);
  });
});
