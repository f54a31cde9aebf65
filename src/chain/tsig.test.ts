import { describe, expect, it } from 'vitest';
import { testChain } from '../../test/support/chain.js';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { parseTsigKeySpec } from '../dns/tsig-key.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { Snapshot } from '../table/snapshot.js';
import { findTsig, signRequest, verifyResponse } from '../wire/tsig.js';

const key = parseTsigKeySpec(`xfr:hmac-sha256:${Buffer.alloc(32, 7).toString('base64')}`);
const other = parseTsigKeySpec(`xfr:hmac-sha256:${Buffer.alloc(32, 8).toString('base64')}`);
const NOW = 1_800_000_000;

function setup() {
  const hosts = Array.from({ length: 73 }, (_, i) => `many A 10.0.0.${i}`).join('\n');
  const r = parseZoneFile(`$ORIGIN a.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n${hosts}\n`, { file: 'a.test.zone' });
  if (!r.ok) throw new Error('zone');
  const snapshot = new Snapshot(new Map([['a.test', r.zone]]), 1);
  return testChain({ snapshot: () => snapshot, tsig: { keys: new Map([[key.name, key]]), nowSeconds: () => NOW } });
}

const udp = { transport: 'udp' as const, remoteAddress: '127.0.0.1', remotePort: 5000, localPort: 53 };

describe('the TSIG stage (RFC 8945)', () => {
  it('signs the answer to a signed query, so the client can verify it', () => {
    const handle = setup();
    const signed = signRequest(buildQuery({ name: 'ns.a.test', type: 'A', edns: {} }), key, NOW);
    const reply = handle(signed.message, udp) as Buffer;
    expect(verifyResponse(reply, key, signed.mac, NOW)).toBe(true);
    expect(verifyResponse(reply, other, signed.mac, NOW)).toBe(false);
  });

  it('leaves room for the signature: a signed UDP answer never exceeds the size the client offered', () => {
    const handle = setup();
    const signed = signRequest(buildQuery({ name: 'many.a.test', type: 'A', edns: { udpSize: 1232 } }), key, NOW);
    const reply = handle(signed.message, udp) as Buffer;
    expect(reply.length).toBeLessThanOrEqual(1232);
    expect(verifyResponse(reply, key, signed.mac, NOW)).toBe(true);
  });

  it('answers a query signed with a key it does not have, or a wrong secret, NOTAUTH with the TSIG error', () => {
    const handle = setup();
    const unknown = parseTsigKeySpec(`other:hmac-sha256:${Buffer.alloc(32, 7).toString('base64')}`);
    for (const [k, error] of [[unknown, 17], [other, 16]] as const) {
      const reply = handle(signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), k, NOW).message, udp) as Buffer;
      expect(parseReply(reply).header.rcode).toBe(9);
      const record = findTsig(reply);
      expect(typeof record === 'object' && record.error).toBe(error);
    }
  });

  it('passes unsigned queries by untouched', () => {
    const handle = setup();
    const reply = handle(buildQuery({ name: 'ns.a.test', type: 'A', edns: {} }), udp) as Buffer;
    expect(findTsig(reply)).toBeUndefined();
    expect(parseReply(reply).answers).toHaveLength(1);
  });

  it('bounds the time window at 300 s whatever fudge the client sends (RFC 8945 §5.2.3)', () => {
    const handle = setup();
    const tsigError = (reply: Buffer) => {
      const record = findTsig(reply);
      return typeof record === 'object' ? record.error : undefined;
    };
    // Signed 60,000 s ago with fudge 65535: its own fudge would cover it.
    const old = handle(signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), key, NOW - 60_000, 65_535).message, udp) as Buffer;
    expect([parseReply(old).header.rcode, tsigError(old)]).toEqual([9, 18]);
    // 301 s either way, fudge 65535: BADTIME; 300 s: accepted.
    for (const skew of [301, -301]) {
      const reply = handle(signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), key, NOW - skew, 65_535).message, udp) as Buffer;
      expect(tsigError(reply)).toBe(18);
    }
    const edge = signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), key, NOW - 300, 65_535);
    expect(verifyResponse(handle(edge.message, udp) as Buffer, key, edge.mac, NOW)).toBe(true);
    // A smaller fudge of the client's own still counts: 10 s.
    const tight = handle(signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), key, NOW - 11, 10).message, udp) as Buffer;
    expect(tsigError(tight)).toBe(18);
  });

  it('refuses a signed transfer or UPDATE request seen before (BADTIME, signed), from any address; queries may repeat', () => {
    const handle = setup();
    const tcp = (remoteAddress: string) => ({ transport: 'tcp' as const, remoteAddress, remotePort: 5000, localPort: 53 });
    const axfr = signRequest(buildQuery({ name: 'a.test', type: 252 }), key, NOW);
    const first = handle(axfr.message, tcp('127.0.0.2'));
    // Passed on (the transfer stage is not in this chain: REFUSED by the end of it), not a TSIG error.
    expect(first instanceof Buffer && findTsig(first) !== undefined && (findTsig(first) as { error: number }).error).toBe(0);
    for (const address of ['127.0.0.2', '127.0.0.3']) {
      const again = handle(axfr.message, tcp(address)) as Buffer;
      expect(parseReply(again).header.rcode).toBe(9);
      expect((findTsig(again) as { error: number }).error).toBe(18);
      // Signed (a full MAC over the request MAC, §5.3.2), unlike BADSIG/BADKEY replies.
      expect((findTsig(again) as { mac: Buffer }).mac.length).toBe(32);
    }
    // A signed UPDATE (opcode 5, RFC 2136) is remembered too: the second copy is refused.
    const update = buildQuery({ name: 'a.test', type: 'SOA' });
    update[2] = (update[2]! & 0x87) | (5 << 3);
    const signedUpdate = signRequest(update, key, NOW).message;
    expect((findTsig(handle(signedUpdate, tcp('127.0.0.2')) as Buffer) as { error: number }).error).not.toBe(18);
    expect((findTsig(handle(signedUpdate, tcp('127.0.0.4')) as Buffer) as { error: number }).error).toBe(18);
    // An ordinary signed query sent twice (a UDP retry) is answered twice.
    const q = signRequest(buildQuery({ name: 'ns.a.test', type: 'A' }), key, NOW);
    for (let i = 0; i < 2; i++) expect(verifyResponse(handle(q.message, udp) as Buffer, key, q.mac, NOW)).toBe(true);
  });
});
