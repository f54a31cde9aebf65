/**
 * TSIG judged by independent implementations: BIND's `dig -y` signs the requests checkRequest
 * must accept (and reject for the right reason), and verifies the replies, the AXFR chains and
 * the error replies this module builds; Knot (knotd, when installed) answers the requests
 * signRequest signs, and verifyResponse checks its signed replies. Everything runs on loopback
 * ports the kernel picks; servers and children are stopped after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket as TcpSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RRType } from '../dns/constants.js';
import { parseTsigKeySpec, TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKey } from '../dns/tsig-key.js';
import { readName } from '../dns/wire-name.js';
import { freePort } from '../../test/support/ports.js';
import { checkRequest, findTsig, signRequest, TsigSigner, tsigErrorReply, verifyResponse, type TsigCheck } from './tsig.js';
import { MessageWriter } from './writer.js';
import { findTool } from '../../test/support/tools.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function secretOf(fill: number, octets = 32): string {
  return Buffer.alloc(octets, fill).toString('base64');
}

function makeKey(name: string, algorithm: TsigAlgorithm, fill = 7): TsigKey {
  return parseTsigKeySpec(`${name}:${algorithm}:${secretOf(fill, TSIG_ALGORITHMS[algorithm].macLength)}`);
}

/** dig's -y argument for a key: `algorithm:name:secret` (its order, not ours). */
function digKey(key: TsigKey, algorithm: string = key.algorithm): string {
  return `${algorithm}:${key.name}:${key.secret.toString('base64')}`;
}

const KEY = makeKey('xfr.test', 'hmac-sha256');
const keysOf = (...keys: TsigKey[]): Map<string, TsigKey> => new Map(keys.map((k) => [k.name, k]));

// --- loopback servers and dig ------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A UDP server on 127.0.0.1 answering each datagram with `handle`'s reply (none if undefined). */
async function udpServer(handle: (request: Buffer) => Buffer | undefined): Promise<{ port: number; requests: Buffer[] }> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const requests: Buffer[] = [];
  socket.on('message', (msg, peer) => {
    requests.push(Buffer.from(msg));
    const reply = handle(msg);
    if (reply) socket.send(reply, peer.port, peer.address);
  });
  return { port: (socket.address() as AddressInfo).port, requests };
}

/** A TCP server on 127.0.0.1: each length-framed request is answered with `handle`'s messages. */
async function tcpServer(handle: (request: Buffer) => Buffer[]): Promise<{ port: number; requests: Buffer[] }> {
  const connections = new Set<TcpSocket>();
  const requests: Buffer[] = [];
  const server: Server = createServer((conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => {});
    let pending = Buffer.alloc(0);
    conn.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const request = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + request.length);
        requests.push(Buffer.from(request));
        for (const message of handle(request)) {
          const length = Buffer.alloc(2);
          length.writeUInt16BE(message.length, 0);
          conn.write(Buffer.concat([length, message]));
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const conn of connections) conn.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, requests };
}

/** Runs the real dig against `port`; stdout and stderr together (dig writes TSIG trouble to both). */
async function dig(port: number, args: readonly string[]): Promise<string> {
  const child = spawn('dig', ['-p', String(port), '@127.0.0.1', '+tries=1', '+time=2', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // dig's own timeouts end it; this only guards against a hang.
  const guard = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 15_000);
  await once(child, 'close');
  clearTimeout(guard);
  return out;
}

/** Whatever dig prints when a TSIG did not verify ("Couldn't verify signature: ...", a warning). */
const TSIG_TROUBLE = /couldn't verify|tsig verify failure|some tsig could not be validated|expected a tsig/i;

// --- messages ----------------------------------------------------------------------------

function questionEnd(message: Buffer): number {
  const name = readName(message, 12);
  if (typeof name === 'string') throw new Error(name);
  return name.end + 4;
}

/** The reply any test server gives: the request's header with QR and AA set, its question, nothing else. */
function bareReply(request: Buffer): Buffer {
  const out = Buffer.from(request.subarray(0, questionEnd(request)));
  out.writeUInt16BE(0x8400 | (request.readUInt16BE(2) & 0x0100), 2);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

const SOA = { type: RRType.SOA, mname: 'ns.example.test', rname: 'hostmaster.example.test', serial: 2024010101, refresh: 3600, retry: 600, expire: 86400, minimum: 60 } as const;

/** One AXFR response message: the request's ID, the question only in the first (RFC 5936 §2.2). */
function axfrMessage(request: Buffer, first: boolean, record: { type: number; data: object }): Buffer {
  const w = new MessageWriter();
  w.u16(request.readUInt16BE(0));
  w.u16(0x8400);
  w.u16(first ? 1 : 0);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  if (first) w.bytes(request.subarray(12, questionEnd(request)));
  w.record({ name: record.type === RRType.A ? 'www.example.test' : 'example.test', type: record.type, ttl: 300, data: record.data as never });
  return w.toBuffer();
}

function invalid(check: TsigCheck): Extract<TsigCheck, { kind: 'invalid' }> {
  if (check.kind !== 'invalid') throw new Error(`expected an invalid TSIG, got ${check.kind}`);
  return check;
}

/** `message` with its TSIG rewritten to carry `mac` (everything else as it was). */
function withMac(message: Buffer, mac: Buffer): Buffer {
  const r = findTsig(message);
  if (!r || typeof r === 'string') throw new Error('no TSIG');
  const w = new MessageWriter();
  w.bytes(message.subarray(0, r.offset));
  w.name(r.keyName, false);
  for (const v of [250, 255, 0, 0]) w.u16(v);
  const rdLengthAt = w.length;
  w.u16(0);
  w.name(r.algorithmName, false);
  w.u16(Math.floor(r.timeSigned / 2 ** 32));
  w.u32(r.timeSigned % 2 ** 32);
  w.u16(r.fudge);
  w.u16(mac.length);
  w.bytes(mac);
  for (const v of [r.originalId, r.error, r.other.length]) w.u16(v);
  w.bytes(r.other);
  w.patchU16(rdLengthAt, w.length - rdLengthAt - 2);
  return w.toBuffer();
}

/** The MAC's first octet of a signed message, for corrupting it. */
function macOffset(message: Buffer): number {
  const record = findTsig(message);
  if (!record || typeof record === 'string') throw new Error('no TSIG');
  return record.mac.byteOffset - message.byteOffset;
}

// --- dig signs, checkRequest judges ------------------------------------------------------

describe('checkRequest on requests BIND dig signs', () => {
  it('accepts a valid request and names what is wrong with the others (RFC 8945 §5.2)', async () => {
    const server = await udpServer((request) => {
      const check = checkRequest(request, keysOf(KEY), nowSeconds());
      return check.kind === 'valid' ? new TsigSigner(KEY, check.record.mac, nowSeconds).sign(bareReply(request)) : undefined;
    });
    const out = await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA']);
    expect(out).toContain('status: NOERROR');
    // (b) dig verified the reply TsigSigner signed: the TSIG is shown, no complaint.
    expect(out).toMatch(/^xfr\.test\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/m);
    expect(out).not.toMatch(TSIG_TROUBLE);

    const request = server.requests[0]!;
    const now = nowSeconds();
    const valid = checkRequest(request, keysOf(KEY), now);
    if (valid.kind !== 'valid') throw new Error(`dig's request: ${JSON.stringify(valid)}`);
    expect(valid.key).toBe(KEY);
    expect(valid.record).toMatchObject({ keyName: 'xfr.test', algorithmName: 'hmac-sha256', fudge: 300, originalId: request.readUInt16BE(0), error: 0 });
    expect(valid.record.mac.length).toBe(32);
    expect(Math.abs(valid.record.timeSigned - now)).toBeLessThanOrEqual(5);
    // dig adds an OPT (EDNS) before the TSIG: the TSIG is the last record, past the OPT.
    expect(request.readUInt16BE(10)).toBe(2);

    // The same name with another secret: the MAC does not match.
    expect(invalid(checkRequest(request, keysOf(makeKey('xfr.test', 'hmac-sha256', 8)), now))).toMatchObject({ error: 'BADSIG', key: { name: 'xfr.test' } });
    // A key we do not have, or ours with another algorithm: BADKEY, checked before the MAC.
    expect(invalid(checkRequest(request, keysOf(makeKey('other.test', 'hmac-sha256')), now)).error).toBe('BADKEY');
    expect(invalid(checkRequest(request, keysOf(makeKey('xfr.test', 'hmac-sha512')), now)).error).toBe('BADKEY');
    // The clock: Fudge (300 s) either way is still fine, one second more is BADTIME.
    const signed = valid.record.timeSigned;
    expect(checkRequest(request, keysOf(KEY), signed + 300).kind).toBe('valid');
    expect(checkRequest(request, keysOf(KEY), signed - 300).kind).toBe('valid');
    expect(invalid(checkRequest(request, keysOf(KEY), signed + 301))).toMatchObject({ error: 'BADTIME', key: KEY });
    expect(invalid(checkRequest(request, keysOf(KEY), signed - 3600)).error).toBe('BADTIME');
    // The MAC check comes before the time check: a wrong secret far off in time is BADSIG.
    expect(invalid(checkRequest(request, keysOf(makeKey('xfr.test', 'hmac-sha256', 8)), signed + 3600)).error).toBe('BADSIG');

    // Any octet changed in what the MAC covers: BADSIG (the question's first label here).
    const tampered = Buffer.from(request);
    tampered[13]! ^= 0x01;
    expect(invalid(checkRequest(tampered, keysOf(KEY), now)).error).toBe('BADSIG');
    // The ID is not covered (Original ID is): a forwarder may change it (RFC 8945 §4.3.3).
    const newId = Buffer.from(request);
    newId.writeUInt16BE(request.readUInt16BE(0) ^ 0xffff, 0);
    expect(checkRequest(newId, keysOf(KEY), now).kind).toBe('valid');

    // The TSIG not last: a record after it, or two TSIGs, is FORMERR (RFC 8945 §5.1).
    const tsigAt = valid.record.offset;
    const after = Buffer.concat([request, Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1])]);
    after.writeUInt16BE(3, 10);
    expect(invalid(checkRequest(after, keysOf(KEY), now))).toMatchObject({ error: 'FORMERR', reason: expect.stringContaining('last record') });
    const twice = Buffer.concat([request, request.subarray(tsigAt)]);
    twice.writeUInt16BE(3, 10);
    expect(invalid(checkRequest(twice, keysOf(KEY), now)).error).toBe('FORMERR');
    // No TSIG at all.
    expect(checkRequest(bareReply(request), keysOf(KEY), now)).toEqual({ kind: 'none' });
  });

  it.each(Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[])('%s: dig signs, checkRequest accepts, dig verifies the signed reply', async (algorithm) => {
    const key = makeKey(`${algorithm}.key.test`, algorithm);
    const checks: TsigCheck[] = [];
    const server = await udpServer((request) => {
      const check = checkRequest(request, keysOf(key), nowSeconds());
      checks.push(check);
      return check.kind === 'valid' ? new TsigSigner(key, check.record.mac, nowSeconds).sign(bareReply(request)) : undefined;
    });
    const out = await dig(server.port, ['-y', digKey(key), 'example.test', 'SOA']);
    expect(checks.map((c) => c.kind)).toEqual(['valid']);
    expect(out).toContain('status: NOERROR');
    expect(out).toContain(`TSIG\t${TSIG_ALGORITHMS[algorithm].wireName}. `);
    expect(out).not.toMatch(TSIG_TROUBLE);
  });

  it('refuses a truncated MAC: BADTRUNC from the RFC floor up, FORMERR below it (RFC 8945 §5.2.2.1, §5.2.4)', async () => {
    const checks: TsigCheck[] = [];
    const server = await udpServer((request) => {
      const check = checkRequest(request, keysOf(KEY), nowSeconds());
      checks.push(check);
      if (check.kind === 'invalid') return tsigErrorReply(bareReply(request), check, nowSeconds());
      return check.kind === 'valid' ? new TsigSigner(KEY, check.record.mac, nowSeconds).sign(bareReply(request)) : undefined;
    });
    // BIND's hmac-sha256-128: the first 16 octets of the MAC, half the hash. The MAC is right,
    // the local policy (full MACs only) refuses it; dig reads the error from the unsigned TSIG.
    const out = await dig(server.port, ['-y', digKey(KEY, 'hmac-sha256-128'), 'example.test', 'SOA']);
    const [check] = checks;
    expect(invalid(check!)).toMatchObject({ error: 'BADTRUNC', reason: 'MAC truncated to 16 of 32 octets' });
    expect(out).toMatch(/status: NOTAUTH/);
    // The full-length MAC of the same key is accepted.
    expect(await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA'])).not.toMatch(TSIG_TROUBLE);
    expect(checks[1]!.kind).toBe('valid');
    // Below half the hash (15 of 32 octets): FORMERR, not BADSIG; BIND's own floor is the same.
    const full = (checks[1] as { record: { mac: Buffer } }).record.mac;
    const cut = withMac(server.requests[1]!, full.subarray(0, 15));
    expect(invalid(checkRequest(cut, keysOf(KEY), nowSeconds()))).toMatchObject({ error: 'FORMERR', reason: expect.stringContaining('shorter than the minimum 16') });
    // Longer than the hash, and empty: FORMERR too.
    expect(invalid(checkRequest(withMac(server.requests[1]!, Buffer.alloc(33)), keysOf(KEY), nowSeconds())).error).toBe('FORMERR');
    expect(invalid(checkRequest(withMac(server.requests[1]!, Buffer.alloc(0)), keysOf(KEY), nowSeconds())).error).toBe('FORMERR');
    // 16 octets that are not the MAC's first 16: BADSIG (the MAC is checked before the policy).
    expect(invalid(checkRequest(withMac(server.requests[1]!, Buffer.alloc(16)), keysOf(KEY), nowSeconds())).error).toBe('BADSIG');
  });
});

// --- TsigSigner and error replies, dig verifies -----------------------------------------

describe('replies dig verifies', () => {
  it('a corrupted MAC, or a reply signed with another secret, makes dig complain', async () => {
    const wrongSecret = makeKey('xfr.test', 'hmac-sha256', 9);
    let mode: 'corrupt' | 'secret' = 'corrupt';
    const server = await udpServer((request) => {
      const check = checkRequest(request, keysOf(KEY), nowSeconds());
      if (check.kind !== 'valid') return undefined;
      const reply = new TsigSigner(mode === 'corrupt' ? KEY : wrongSecret, check.record.mac, nowSeconds).sign(bareReply(request));
      if (mode === 'corrupt') reply[macOffset(reply) + 5]! ^= 0x40;
      return reply;
    });
    expect(await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA'])).toMatch(/Couldn't verify signature: tsig verify failure/);
    mode = 'secret';
    expect(await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA'])).toMatch(/Couldn't verify signature: tsig verify failure/);
  });

  it('tsigErrorReply: dig sees NOTAUTH with BADSIG or BADKEY unsigned, and a signed BADTIME it can verify (RFC 8945 §5.3.2)', async () => {
    let serverClock = nowSeconds;
    let corruptBadTime = false;
    const server = await udpServer((request) => {
      const check = checkRequest(request, keysOf(KEY), serverClock());
      if (check.kind !== 'invalid') return undefined;
      const reply = tsigErrorReply(bareReply(request), check, serverClock());
      if (corruptBadTime) reply[macOffset(reply)]! ^= 0x01;
      return reply;
    });
    const tsigLine = (out: string): string => /^\S+\s+0\s+ANY\s+TSIG\s+.*$/m.exec(out)?.[0] ?? `no TSIG line in:\n${out}`;

    // dig's key has our name and another secret: BADSIG, MAC size 0.
    const badSig = await dig(server.port, ['-y', digKey(makeKey('xfr.test', 'hmac-sha256', 3)), 'example.test', 'SOA']);
    expect(badSig).toContain('status: NOTAUTH');
    expect(tsigLine(badSig)).toMatch(/TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0\s*$/);
    expect(badSig).toContain("Couldn't verify signature: tsig indicates error");

    // A key name we do not know: BADKEY, echoing dig's name and algorithm.
    const badKey = await dig(server.port, ['-y', digKey(makeKey('stranger.test', 'hmac-sha512')), 'example.test', 'SOA']);
    expect(badKey).toContain('status: NOTAUTH');
    expect(tsigLine(badKey)).toMatch(/^stranger\.test\.\s+0\s+ANY\s+TSIG\s+hmac-sha512\. \d+ 300 0 \d+ BADKEY 0\s*$/);
    expect(badKey).toContain("Couldn't verify signature: tsig indicates error");

    // Our clock an hour ahead: BADTIME, signed; dig verifies the MAC and then reports the
    // error as a clock problem. Other Data is the server's time (6 octets).
    const skew = 3600;
    serverClock = () => nowSeconds() + skew;
    const badTime = await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA']);
    expect(badTime).toContain('status: NOTAUTH');
    const line = tsigLine(badTime);
    const m = /TSIG\s+hmac-sha256\. (\d+) 300 32 \S+ \d+ BADTIME 6 (\S+)\s*$/.exec(line);
    if (!m) throw new Error(line);
    const serverTime = Buffer.from(m[2]!, 'base64').readUIntBE(0, 6);
    expect(Math.abs(serverTime - (nowSeconds() + skew))).toBeLessThanOrEqual(5);
    // Time Signed is the request's, so that dig's own time check passes.
    expect(Math.abs(Number(m[1]) - nowSeconds())).toBeLessThanOrEqual(5);
    expect(badTime).toContain("Couldn't verify signature: clocks are unsynchronized");
    // ... and that message comes after dig checked the MAC: a corrupted one is a failure.
    corruptBadTime = true;
    expect(await dig(server.port, ['-y', digKey(KEY), 'example.test', 'SOA'])).toContain("Couldn't verify signature: tsig verify failure");
  });
});

// --- AXFR: TsigSigner chains messages, dig verifies each -------------------------------

describe('a signed AXFR of several messages (RFC 8945 §5.3.1)', () => {
  type Chain = 'good' | 'restart';
  async function axfr(key: TsigKey, chain: Chain): Promise<{ out: string; checks: TsigCheck[] }> {
    const checks: TsigCheck[] = [];
    const server = await tcpServer((request) => {
      const check = checkRequest(request, keysOf(key), nowSeconds());
      checks.push(check);
      if (check.kind !== 'valid') return [];
      const messages = [
        axfrMessage(request, true, { type: RRType.SOA, data: SOA }),
        axfrMessage(request, false, { type: RRType.A, data: { type: RRType.A, address: '192.0.2.7' } }),
        axfrMessage(request, false, { type: RRType.SOA, data: SOA }),
      ];
      const signer = new TsigSigner(key, check.record.mac, nowSeconds);
      return messages.map((message, i) => {
        // 'restart': the second message signed as if it were the first (request MAC, full
        // variables) instead of over the MAC before it: a broken chain.
        if (chain === 'restart' && i === 1) return new TsigSigner(key, check.record.mac, nowSeconds).sign(message);
        return signer.sign(message);
      });
    });
    const out = await dig(server.port, ['-y', digKey(key), 'example.test', 'AXFR']);
    return { out, checks };
  }

  it.each(['hmac-sha256', 'hmac-sha512', 'hmac-md5'] as const)('%s: dig prints the three records and no TSIG error', async (algorithm) => {
    const { out, checks } = await axfr(makeKey('axfr.key.test', algorithm), 'good');
    expect(checks.map((c) => c.kind)).toEqual(['valid']);
    const records = out.split('\n').filter((l) => /^(www\.)?example\.test\.\s/.test(l));
    expect(records).toHaveLength(3);
    expect(records[0]).toMatch(/\sSOA\s+ns\.example\.test\. hostmaster\.example\.test\. 2024010101 /);
    expect(records[1]).toMatch(/^www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.7$/);
    expect(records[2]).toMatch(/\sSOA\s/);
    expect(out).toMatch(/XFR size: 3 records \(messages 3/);
    expect(out).not.toMatch(TSIG_TROUBLE);
    expect(out).not.toMatch(/transfer failed/i);
  });

  it('a message signed out of chain: dig fails that message and the next', async () => {
    // dig prints every message it receives, each preceded by its verdict when it failed.
    const { out } = await axfr(KEY, 'restart');
    const lines = out.split('\n').filter((l) => /^(www\.)?example\.test\.\s|tsig verify failure/.test(l));
    expect(lines.map((l) => (l.includes('verify failure') ? 'FAIL' : /\sSOA\s/.test(l) ? 'SOA' : 'A'))).toEqual(['SOA', 'FAIL', 'A', 'FAIL', 'SOA']);
    expect(out).toContain('WARNING -- Some TSIG could not be validated');
  });
});

// --- signRequest and verifyResponse without a peer --------------------------------------

describe('signRequest, verifyResponse, findTsig', () => {
  function query(id = 0x1234): Buffer {
    const w = new MessageWriter();
    w.u16(id);
    w.u16(0);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    w.name('example.test');
    w.u16(RRType.SOA);
    w.u16(1);
    return w.toBuffer();
  }

  it('round trip: signRequest → checkRequest → TsigSigner → verifyResponse', () => {
    const now = 1_700_000_000;
    const { message, mac } = signRequest(query(), KEY, now, 120);
    const check = checkRequest(message, keysOf(KEY), now + 100);
    if (check.kind !== 'valid') throw new Error(JSON.stringify(check));
    expect(check.record).toMatchObject({ timeSigned: now, fudge: 120, originalId: 0x1234 });
    expect(check.record.mac.equals(mac)).toBe(true);
    const reply = new TsigSigner(KEY, check.record.mac, () => now + 1).sign(bareReply(message));
    expect(verifyResponse(reply, KEY, mac, now + 2)).toBe(true);
    // Another request's MAC, another key, or far in time: no.
    expect(verifyResponse(reply, KEY, Buffer.alloc(32), now + 2)).toBe(false);
    expect(verifyResponse(reply, makeKey('xfr.test', 'hmac-sha256', 1), mac, now + 2)).toBe(false);
    expect(verifyResponse(reply, KEY, mac, now + 1000)).toBe(false);
    // An error reply is never a verified response, signed (BADTIME) or not (BADSIG).
    const badTime = invalid(checkRequest(message, keysOf(KEY), now + 1000));
    expect(verifyResponse(tsigErrorReply(bareReply(message), badTime, now + 1000), KEY, mac, now)).toBe(false);
    const badSig = invalid(checkRequest(message, keysOf(makeKey('xfr.test', 'hmac-sha256', 1)), now));
    expect(verifyResponse(tsigErrorReply(bareReply(message), badSig, now), KEY, mac, now)).toBe(false);
    // Nor a reply without a TSIG.
    expect(verifyResponse(bareReply(message), KEY, mac, now)).toBe(false);
  });

  it('the key and algorithm names go into the MAC in canonical (lower-case) form', () => {
    const upper = parseTsigKeySpec(`XFR.Test:HMAC-SHA256:${KEY.secret.toString('base64')}`);
    expect(upper.name).toBe('xfr.test');
    const { message } = signRequest(query(), upper, 1_700_000_000);
    // Write the owner name in upper case on the wire: the MAC still matches.
    const record = findTsig(message);
    if (!record || typeof record === 'string') throw new Error('no TSIG');
    message.write('XFR', record.offset + 1, 'latin1');
    expect(checkRequest(message, keysOf(KEY), 1_700_000_000).kind).toBe('valid');
  });

  it('findTsig reports malformed TSIG records as reasons (FORMERR)', () => {
    const { message } = signRequest(query(), KEY, 1_700_000_000);
    const record = findTsig(message);
    if (!record || typeof record === 'string') throw new Error('no TSIG');
    const classAt = record.offset + 'xfr.test'.length + 2 + 2;
    const wrongClass = Buffer.from(message);
    wrongClass.writeUInt16BE(1, classAt);
    expect(findTsig(wrongClass)).toMatch(/class is not ANY/);
    const wrongTtl = Buffer.from(message);
    wrongTtl.writeUInt32BE(5, classAt + 2);
    expect(findTsig(wrongTtl)).toMatch(/TTL is not 0/);
    expect(findTsig(message.subarray(0, message.length - 1))).toMatch(/runs past the end/);
    expect(findTsig(message.subarray(0, 11))).toMatch(/shorter than its header/);
    // RDLENGTH one short: the fixed fields no longer fit.
    const shortRdata = Buffer.from(message);
    shortRdata.writeUInt16BE(shortRdata.readUInt16BE(classAt + 6) - 1, classAt + 6);
    expect(findTsig(shortRdata.subarray(0, shortRdata.length - 1))).toMatch(/MAC runs past its RDATA/);
    // Other Len claims an octet the RDATA does not have.
    const longOther = Buffer.from(message);
    longOther.writeUInt16BE(1, longOther.length - 2);
    expect(findTsig(longOther)).toMatch(/Other Data does not end/);
    expect(findTsig(Buffer.concat([message, Buffer.from([0])]))).toBe('data after the TSIG record');
    // A TSIG in the answer section.
    const inAnswer = Buffer.from(message);
    inAnswer.writeUInt16BE(1, 6);
    inAnswer.writeUInt16BE(0, 10);
    expect(findTsig(inAnswer)).toMatch(/not the last record of the additional section/);
    expect(invalid(checkRequest(inAnswer, keysOf(KEY), 1_700_000_000))).toMatchObject({ error: 'FORMERR' });
    expect(findTsig(query())).toBeUndefined();
  });

  it('tsigErrorReply for FORMERR sets the RCODE and adds no TSIG', () => {
    const reply = tsigErrorReply(bareReply(query()), { kind: 'invalid', error: 'FORMERR', reason: 'test' }, 0);
    expect(reply[3]! & 0x0f).toBe(1);
    expect(reply.readUInt16BE(10)).toBe(0);
    expect(findTsig(reply)).toBeUndefined();
  });
});

// --- Knot answers what signRequest signs --------------------------------------------------


const knotd = findTool('knotd');

async function udpExchange(port: number, message: Buffer): Promise<Buffer> {
  const socket = createSocket('udp4');
  try {
    socket.send(message, port, '127.0.0.1');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no reply within 2 s')), 2000).unref());
    const [reply] = (await Promise.race([once(socket, 'message'), timeout])) as [Buffer];
    return reply;
  } finally {
    socket.close();
  }
}

describe.skipIf(!knotd)(`signRequest and verifyResponse against Knot${knotd ? '' : ' (skipped: knotd not installed; apt-get install knot)'}`, () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Knot verifies our signed query and signs its answer, which verifyResponse accepts', async () => {
    dir = mkdtempSync(join(tmpdir(), 'etcdns-tsig-knot-'));
    const port = await freePort();
    for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'zones', 'example.test.zone'), 'example.test. 300 SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\nexample.test. 300 NS ns.example.test.\nns.example.test. 300 A 192.0.2.1\n');
    const key512 = makeKey('knot.key.test', 'hmac-sha512', 5);
    writeFileSync(
      join(dir, 'knot.conf'),
      `server:\n    rundir: "${dir}/run"\n    listen: 127.0.0.1@${port}\nlog:\n  - target: stderr\n    any: warning\ndatabase:\n    storage: "${dir}/storage"\n` +
        `key:\n  - id: ${KEY.name}\n    algorithm: hmac-sha256\n    secret: ${KEY.secret.toString('base64')}\n  - id: ${key512.name}\n    algorithm: hmac-sha512\n    secret: ${key512.secret.toString('base64')}\n` +
        // Knot checks a query's TSIG only against the keys of an ACL that allows it.
        `acl:\n  - id: tsig\n    key: [${KEY.name}, ${key512.name}]\n    action: query\n` +
        `template:\n  - id: default\n    storage: "${dir}/zones"\n    file: "%s.zone"\n    zonefile-sync: -1\n    journal-content: none\n` +
        `zone:\n  - domain: example.test\n    acl: tsig\n`,
    );
    let output = '';
    child = spawn(knotd!, ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    const query = (id: number): Buffer => {
      const w = new MessageWriter();
      for (const v of [id, 0, 1, 0, 0, 0]) w.u16(v);
      w.name('example.test');
      w.u16(RRType.SOA);
      w.u16(1);
      return w.toBuffer();
    };
    // Knot has no readiness signal: ask until it answers.
    let reply: Buffer | undefined;
    let mac: Buffer = Buffer.alloc(0);
    for (let attempt = 0; attempt < 100 && !reply; attempt++) {
      const signed = signRequest(query(attempt + 1), KEY, nowSeconds());
      mac = signed.mac;
      reply = await udpExchange(port, signed.message).catch(() => undefined);
      if (!reply) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!reply) throw new Error(`knotd did not answer:\n${output}`);
    expect(reply[3]! & 0x0f).toBe(0);
    expect(reply.readUInt16BE(6)).toBe(1);
    expect(verifyResponse(reply, KEY, mac, nowSeconds())).toBe(true);
    expect(verifyResponse(reply, KEY, Buffer.alloc(mac.length, 1), nowSeconds())).toBe(false);

    for (const key of [key512]) {
      const signed = signRequest(query(7), key, nowSeconds());
      const answer = await udpExchange(port, signed.message);
      expect(verifyResponse(answer, key, signed.mac, nowSeconds())).toBe(true);
    }

    // A key Knot does not have: its unsigned BADKEY reply is not a verified response, and
    // findTsig reads its TSIG error.
    const stranger = makeKey('stranger.test', 'hmac-sha256');
    const signed = signRequest(query(9), stranger, nowSeconds());
    const refused = await udpExchange(port, signed.message);
    expect(refused[3]! & 0x0f).toBe(9);
    expect(findTsig(refused)).toMatchObject({ keyName: 'stranger.test', error: 17 });
    expect(verifyResponse(refused, stranger, signed.mac, nowSeconds())).toBe(false);
    // Our clock an hour off: Knot answers BADTIME, signed; still not a verified response.
    const late = signRequest(query(10), KEY, nowSeconds() - 3600);
    const badTime = await udpExchange(port, late.message);
    expect(findTsig(badTime)).toMatchObject({ error: 18 });
    expect(verifyResponse(badTime, KEY, late.mac, nowSeconds() - 3600)).toBe(false);
  });
});
