import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { EDE_OPTION, EdeCode, withEdnsOption, withExtendedError } from './ede.js';
import { withNsid } from './nsid.js';
import { decodeQuery } from './query.js';
import { renderRcode } from './response.js';

/** A SERVFAIL to a query for a.test A, with OPT when the query had EDNS. */
function servfail(edns: boolean): Buffer {
  const d = decodeQuery(buildQuery({ name: 'a.test', type: 'A', ...(edns ? { edns: {} } : {}) }));
  if (d.kind !== 'query') throw new Error('not a query');
  return renderRcode(d.query, 2, 1232);
}

/** The options of the reply's OPT record, as [code, data] (read by hand: the test does not trust ede.ts to find it). */
function options(reply: Buffer): [number, Buffer][] {
  const opt = reply.lastIndexOf(Buffer.from([0, 0, 41]));
  const rdlength = reply.readUInt16BE(opt + 9);
  const out: [number, Buffer][] = [];
  for (let at = opt + 11; at < opt + 11 + rdlength; ) {
    const length = reply.readUInt16BE(at + 2);
    out.push([reply.readUInt16BE(at), reply.subarray(at + 4, at + 4 + length)]);
    at += 4 + length;
  }
  return out;
}

describe('Extended DNS Errors (RFC 8914)', () => {
  it('adds option 15 with the INFO-CODE and the EXTRA-TEXT to the OPT record', () => {
    const reply = withExtendedError(servfail(true), { code: EdeCode.NoReachableAuthority, text: 'no upstream answered' }, 1232);
    const [[code, data]] = options(reply) as [[number, Buffer]];
    expect(code).toBe(EDE_OPTION);
    expect(data.readUInt16BE(0)).toBe(22);
    expect(data.subarray(2).toString('utf8')).toBe('no upstream answered');
    expect(parseReply(reply).header.rcode).toBe(2);
  });

  it('adds nothing for a client that sent no EDNS (RFC 8914 §3: the option lives in OPT)', () => {
    const plain = servfail(false);
    expect(withExtendedError(plain, { code: EdeCode.Prohibited, text: 'x' }, 512)).toBe(plain);
  });

  it('never goes beyond the size limit: the text goes first, then the whole option', () => {
    const base = servfail(true);
    const text = 'a reason of some length';
    expect(withExtendedError(base, { code: 3, text }, base.length + 6 + text.length)).toHaveLength(base.length + 6 + text.length);
    const codeOnly = withExtendedError(base, { code: 3, text }, base.length + 6 + text.length - 1);
    expect(codeOnly).toHaveLength(base.length + 6);
    expect(options(codeOnly)).toEqual([[EDE_OPTION, Buffer.from([0, 3])]]);
    expect(withExtendedError(base, { code: 3, text }, base.length + 5)).toBe(base);
  });

  it('keeps working with NSID in either order, and with a record after OPT', () => {
    const nsid = Buffer.from('replica-1');
    const both = withNsid(withExtendedError(servfail(true), { code: EdeCode.NotReady, text: 'etcd' }, 1232), nsid, 1232);
    expect(options(both).map(([c]) => c)).toEqual([EDE_OPTION, 3]);
    const other = withExtendedError(withNsid(servfail(true), nsid, 1232), { code: EdeCode.NotReady }, 1232);
    expect(options(other).map(([c]) => c)).toEqual([3, EDE_OPTION]);
    // A record after OPT (as TSIG would be): the option goes into OPT, the record stays whole after it.
    const base = servfail(true);
    const trailer = Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]); // ". A 192.0.2.1"
    const withTrailer = Buffer.concat([base, trailer]);
    withTrailer.writeUInt16BE(withTrailer.readUInt16BE(10) + 1, 10);
    const out = withEdnsOption(withTrailer, 65001, Buffer.from('z'), 1232);
    expect(out.subarray(out.length - trailer.length)).toEqual(trailer);
    expect(out.length).toBe(withTrailer.length + 5);
    expect(parseReply(out).additionals.length).toBe(2);
  });
});
