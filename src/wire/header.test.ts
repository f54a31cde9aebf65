import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../test/support/packets.js';
import { decodeQuery } from './query.js';
import { headerRcode, isTruncated, replySizeLimit, withoutTrailingOpt } from './header.js';

describe('reply size limit (RFC 1035 §4.2, RFC 6891 §6.2.5)', () => {
  it('is 65535 over TCP whatever EDNS says', () => {
    expect(replySizeLimit('tcp', undefined, 1232)).toBe(65535);
    expect(replySizeLimit('tcp', 4096, 1232)).toBe(65535);
  });
  it('is 512 over UDP without EDNS, and the smaller of theirs and ours with it', () => {
    expect(replySizeLimit('udp', undefined, 1232)).toBe(512);
    expect(replySizeLimit('udp', 4096, 1232)).toBe(1232);
    expect(replySizeLimit('udp', 800, 1232)).toBe(800);
  });
});

describe('header fields', () => {
  it('reads RCODE and TC', () => {
    const header = Buffer.from([0x12, 0x34, 0x82, 0x83, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(headerRcode(header)).toBe(3);
    expect(isTruncated(header)).toBe(true);
    header[2] = 0x80;
    expect(isTruncated(header)).toBe(false);
    expect(headerRcode(Buffer.alloc(2))).toBe(0);
  });

  it('drops a trailing OPT record and counts it out of ARCOUNT', () => {
    const withEdns = buildQuery({ name: 'www.a.test', type: 'A', edns: {} });
    const plain = withoutTrailingOpt(withEdns);
    const decoded = decodeQuery(plain);
    expect(decoded).toMatchObject({ kind: 'query', query: { name: 'www.a.test', edns: undefined } });
    expect(plain.readUInt16BE(10)).toBe(0);
    expect(plain.length).toBe(withEdns.length - 11);
  });
});
