import { describe, expect, it } from 'vitest';
import type { KeyPut } from './changes.js';
import type { RawEvent, RawKv } from './etcd-kv.js';
import { listedKvs, MirrorCore } from './mirror-core.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const kv = (key: string, modRevision: number, version = 1, lease?: string): RawKv => ({ key, value: bytes(`v${modRevision}`), lease, modRevision, version });
const put = (key: string, modRevision: number, version = 1, prev?: number, lease?: string): RawEvent => ({
  type: 'put',
  kv: kv(key, modRevision, version, lease),
  prevModRevision: prev,
});
const del = (key: string, modRevision: number, prev?: number): RawEvent => ({ type: 'delete', key, modRevision, prevModRevision: prev });

describe('MirrorCore', () => {
  it('reset replaces everything and sets the revision', () => {
    const core = new MirrorCore();
    core.reset(listedKvs([kv('/a', 3), kv('/b', 5)]), 9);
    const puts = core.reset(listedKvs([kv('/c', 7)]), 10);
    expect(puts).toEqual([{ type: 'put', key: '/c', value: bytes('v7'), lease: undefined, leaseTtl: undefined, modRevision: 7 }]);
    expect(core.revision).toBe(10);
    expect(core.size).toBe(1);
  });

  it('reset hands back a put per listed key-value, a leased one with its lease TTL, and empties the listing', () => {
    const core = new MirrorCore();
    core.reset(listedKvs([kv('/l', 2, 1, '7')]), 2);
    core.rememberLeaseTtl('7', 30);
    const listed = listedKvs([kv('/p', 3), kv('/l', 4, 2, '7')]);
    const puts = core.reset(listed, 5);
    expect(puts).toEqual([
      { type: 'put', key: '/p', value: bytes('v3'), lease: undefined, leaseTtl: undefined, modRevision: 3 },
      { type: 'put', key: '/l', value: bytes('v4'), lease: '7', leaseTtl: 30, modRevision: 4 },
    ]);
    expect(listed.length).toBe(0);
    expect(listed.leases.size).toBe(0);
    expect(core.cachedLeases).toBe(1);
  });

  it('drops events at or below the applied revision, keeps all events of one revision together', () => {
    const core = new MirrorCore();
    core.reset(listedKvs([kv('/a', 3)]), 10);
    const r = core.accept([put('/old', 9), put('/x', 11), put('/y', 11), put('/a', 12, 2, 3)]);
    expect(r.ok && r.changes.map((c) => `${c.key}@${c.modRevision}`)).toEqual(['/x@11', '/y@11', '/a@12']);
    expect(r.ok && r.revision).toBe(12);
    // A replay after a resume: 11 and 12 again, then 13.
    const again = core.accept([put('/x', 11), put('/y', 11), put('/a', 12, 2, 3), del('/x', 13, 11)]);
    expect(again.ok && again.changes.map((c) => `${c.type} ${c.key}@${c.modRevision}`)).toEqual(['delete /x@13']);
    expect(core.revision).toBe(13);
    expect(core.size).toBe(2);
    // Only replays: nothing to emit, revision unchanged.
    const none = core.accept([put('/y', 11)]);
    expect(none).toEqual({ ok: true, changes: [], revision: 13 });
  });

  it('reports gaps from version and prev_kv evidence', () => {
    const setup = () => {
      const core = new MirrorCore();
      core.reset(listedKvs([kv('/held', 5, 2)]), 10);
      return core;
    };
    expect(setup().accept([put('/held', 11, 1)]).ok).toBe(false); // re-created: missed its delete
    expect(setup().accept([put('/unknown', 11, 3)]).ok).toBe(false); // updated: missed its creation
    expect(setup().accept([put('/held', 11, 3, 8)]).ok).toBe(false); // follows 8, we hold 5
    expect(setup().accept([del('/held', 11, 8)]).ok).toBe(false);
    expect(setup().accept([del('/unknown', 11, 4)]).ok).toBe(false);
    expect(setup().accept([put('/n', 12), put('/m', 11)]).ok).toBe(false); // out of order
    // Consistent ones are fine; a delete without prev_kv (compacted) is no evidence either way.
    expect(setup().accept([put('/held', 11, 3, 5)]).ok).toBe(true);
    expect(setup().accept([put('/held', 11, 3)]).ok).toBe(true);
    expect(setup().accept([del('/unknown', 11)]).ok).toBe(true);
    expect(setup().accept([del('/held', 11, 5), put('/held', 12, 1)]).ok).toBe(true);
  });

  it('caches lease TTLs only while a key uses the lease', () => {
    const core = new MirrorCore();
    core.reset(listedKvs([kv('/a', 2, 1, '7'), kv('/b', 3, 1, '7')]), 5);
    core.rememberLeaseTtl('7', 30);
    core.rememberLeaseTtl('8', 60); // no key uses 8: not cached
    expect(core.leaseTtl('7')).toBe(30);
    expect(core.leaseTtl('8')).toBeUndefined();
    // New puts on a cached lease come with the TTL filled in.
    const r = core.accept([put('/c', 6, 1, undefined, '7')]);
    expect(r.ok && (r.changes[0] as KeyPut).leaseTtl).toBe(30);
    core.accept([del('/a', 7, 2), del('/b', 8, 3)]);
    expect(core.leaseTtl('7')).toBe(30); // /c still uses it
    core.accept([put('/c', 9, 2, 6)]); // re-put without the lease
    expect(core.leaseTtl('7')).toBeUndefined();
    expect(core.cachedLeases).toBe(0);
    // A re-list keeps the TTL of leases still in use, forgets the others.
    core.reset(listedKvs([kv('/x', 10, 1, '9'), kv('/y', 10, 1, '10')]), 10);
    core.rememberLeaseTtl('9', 5);
    core.rememberLeaseTtl('10', 6);
    core.reset(listedKvs([kv('/x', 10, 1, '9')]), 11);
    expect(core.leaseTtl('9')).toBe(5);
    expect(core.cachedLeases).toBe(1);
  });
});
