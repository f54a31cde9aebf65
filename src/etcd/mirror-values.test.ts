import { describe, expect, it } from 'vitest';
import type { KeyChange } from './changes.js';
import { MirrorValues } from './mirror-values.js';

const put = (key: string, value: Uint8Array | string, modRevision: number, lease?: string): KeyChange => ({
  type: 'put',
  key,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  lease,
  leaseTtl: undefined,
  modRevision,
});
const del = (key: string, modRevision: number): KeyChange => ({ type: 'delete', key, modRevision });
/** Keeps keys whose last label starts with `_rr-`. */
const records = () => new MirrorValues((key, slash) => key.startsWith('_rr-', slash + 1));
const text = (v: Uint8Array | undefined) => (v ? Buffer.from(v).toString() : undefined);

describe('MirrorValues', () => {
  it('has no revision before the first list, then the batches’ revision', () => {
    const values = records();
    expect(values.revision).toBeUndefined();
    values.apply({ reset: true, changes: [], revision: 4 });
    expect(values.revision).toBe(4);
    values.apply({ reset: false, changes: [put('/s/a/_rr-a-1', 'x', 5)], revision: 5 });
    expect(values.revision).toBe(5);
  });

  it('keeps only the chosen keys, with value, revision and lease; a reset replaces everything', () => {
    const values = records();
    values.apply({ reset: true, changes: [put('/s/a/_rr-a-1', 'one', 3, '77'), put('/s/a/x1', 'ordinary', 3), put('/s/b/_rr-txt-2', 'two', 4)], revision: 9 });
    expect(values.size).toBe(2);
    expect(values.get('/s/a/x1')).toBeUndefined();
    const one = values.get('/s/a/_rr-a-1');
    expect({ ...one, value: text(one?.value) }).toEqual({ key: '/s/a/_rr-a-1', value: 'one', modRevision: 3, lease: '77' });
    expect(values.children('/s/a').map((kv) => kv.key)).toEqual(['/s/a/_rr-a-1']);
    values.apply({ reset: true, changes: [put('/s/c/_rr-a-3', 'three', 10)], revision: 10 });
    expect(values.size).toBe(1);
    expect(values.children('/s/a')).toEqual([]);
    expect(text(values.get('/s/c/_rr-a-3')?.value)).toBe('three');
  });

  it('follows puts and deletes; a deleted key is gone, its parent too when empty', () => {
    const values = records();
    values.apply({ reset: true, changes: [put('/s/a/_rr-a-1', 'one', 3)], revision: 3 });
    values.apply({ reset: false, changes: [put('/s/a/_rr-a-1', 'uno', 5), put('/s/a/_rr-a-2', 'two', 5), del('/s/a/x', 5)], revision: 5 });
    expect(values.size).toBe(2);
    expect(text(values.get('/s/a/_rr-a-1')?.value)).toBe('uno');
    expect(values.get('/s/a/_rr-a-1')?.modRevision).toBe(5);
    values.apply({ reset: false, changes: [del('/s/a/_rr-a-1', 6), del('/s/a/_rr-a-2', 6), del('/s/a/_rr-a-9', 6)], revision: 6 });
    expect(values.size).toBe(0);
    expect(values.children('/s/a')).toEqual([]);
  });

  it('copies every byte of the value out of the message buffer (not UTF-8 too)', () => {
    const message = Uint8Array.from([0xff, 0x7b, 0x00, 0xc3, 0x28, 0x7d, 0xfe]);
    const values = records();
    values.apply({ reset: true, changes: [put('/s/a/_rr-a-1', message.subarray(1, 6), 2)], revision: 2 });
    message.fill(0);
    expect([...values.get('/s/a/_rr-a-1')!.value]).toEqual([0x7b, 0x00, 0xc3, 0x28, 0x7d]);
  });

  it('after a batch it could not apply whole, has no revision until the next reset', () => {
    let refuse = false;
    const values = new MirrorValues((key) => {
      if (refuse) throw new Error('a bug');
      return key.includes('_rr-');
    });
    values.apply({ reset: true, changes: [put('/s/a/_rr-a-1', 'one', 3)], revision: 3 });
    refuse = true;
    values.apply({ reset: false, changes: [put('/s/a/_rr-a-2', 'two', 4)], revision: 4 });
    expect(values.revision).toBeUndefined();
    refuse = false;
    values.apply({ reset: false, changes: [put('/s/a/_rr-a-3', 'three', 5)], revision: 5 });
    expect(values.revision).toBeUndefined();
    values.apply({ reset: true, changes: [put('/s/a/_rr-a-3', 'three', 5)], revision: 5 });
    expect(values.revision).toBe(5);
  });
});
