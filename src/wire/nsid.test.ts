import { describe, expect, it } from 'vitest';
import { buildQuery, parseReply } from '../../test/support/packets.js';
import { decodeQuery } from './query.js';
import { withNsid } from './nsid.js';
import { renderBare } from './response.js';

const nsid = Buffer.from('replica-1');

function bareReply(withEdns: boolean): Buffer {
  return renderBare({ id: 1, queryFlags: 0x0100, rcode: 0, question: undefined, edns: withEdns ? { udpSize: 1232, version: 0, dnssecOk: false } : undefined, advertisedUdpSize: 1232 });
}

describe('NSID (RFC 5001)', () => {
  it('is read from a query that carries the option, and only then', () => {
    const asked = decodeQuery(buildQuery({ name: 'a.test', type: 'A', edns: { nsid: true } }));
    const plain = decodeQuery(buildQuery({ name: 'a.test', type: 'A', edns: {} }));
    expect(asked.kind === 'query' && asked.query.edns?.nsid).toBe(true);
    expect(plain.kind === 'query' && plain.query.edns?.nsid).toBe(false);
  });

  it('is appended to the OPT record as option 3 with the identifier', () => {
    const reply = withNsid(bareReply(true), nsid, 1232);
    const opt = reply.subarray(reply.length - 11 - 4 - nsid.length);
    expect(opt.readUInt16BE(1)).toBe(41);
    expect(opt.readUInt16BE(9)).toBe(4 + nsid.length); // RDLENGTH
    expect(opt.readUInt16BE(11)).toBe(3); // OPTION-CODE NSID
    expect(opt.readUInt16BE(13)).toBe(nsid.length);
    expect(opt.subarray(15).toString()).toBe('replica-1');
    expect(parseReply(reply).header.id).toBe(1); // still a well-formed message
  });

  it('leaves a reply without OPT, or one the option would push past the size limit, unchanged', () => {
    const noOpt = bareReply(false);
    expect(withNsid(noOpt, nsid, 1232)).toBe(noOpt);
    const full = bareReply(true);
    expect(withNsid(full, nsid, full.length + 4 + nsid.length - 1)).toBe(full);
    expect(withNsid(full, nsid, full.length + 4 + nsid.length).length).toBe(full.length + 4 + nsid.length);
  });
});
