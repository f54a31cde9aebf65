/**
 * TSIG per RFC 8945 against the built server (issue 24): a replayed signed transfer request is
 * refused (BADTIME), from any address; a request signed outside 300 s is refused whatever its
 * fudge; a truncated MAC is refused (BADTRUNC); a secret under 16 octets stops the start; an
 * md5 key starts with a warning. The key itself is checked with the real `dig -y`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTsig, signRequest } from '../src/wire/tsig.js';
import { buildQuery, parseReply } from './support/packets.js';
import { runCli, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const run = promisify(execFile);
const ZONE = `$ORIGIN example.test.\n$TTL 60\n@ SOA ns1 hostmaster 7 7200 1800 86400 30\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.10\n`;
const KEY = { name: 'xfr-key', algorithm: 'hmac-sha256' as const, secret: randomBytes(32) };
const OLD = { name: 'old-key', algorithm: 'hmac-md5' as const, secret: randomBytes(16) };
const spec = (k: typeof KEY | typeof OLD) => `${k.name}:${k.algorithm}:${k.secret.toString('base64')}`;

/** One request over TCP from `localAddress`; the first reply message. */
async function tcpFirst(port: number, message: Buffer, localAddress: string): Promise<Buffer> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  try {
    await once(socket, 'connect');
    const frame = Buffer.alloc(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    message.copy(frame, 2);
    socket.write(frame);
    let pending = Buffer.alloc(0);
    for await (const chunk of socket) {
      pending = Buffer.concat([pending, chunk as Buffer]);
      if (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) return pending.subarray(2, 2 + pending.readUInt16BE(0));
    }
    throw new Error('connection closed without a reply');
  } finally {
    socket.destroy();
  }
}

const tsigError = (reply: Buffer) => {
  const record = findTsig(reply);
  return typeof record === 'object' ? record.error : undefined;
};

describe('TSIG hardening (RFC 8945)', () => {
  let server: ServerProcess;
  const zones = tempZones({ 'example.test.zone': ZONE });

  beforeAll(async () => {
    server = await startServer(['--zones', zones.dir, '--tsig-key', spec(KEY), '--tsig-key', spec(OLD)]);
  });
  afterAll(async () => {
    await server?.stop();
    zones.remove();
  });

  it('transfers with the key through the real dig -y', async () => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(server.port), '-y', `hmac-sha256:${KEY.name}:${KEY.secret.toString('base64')}`, 'example.test', 'AXFR']);
    expect(stdout).toMatch(/www\.example\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.10/);
    expect(stdout).not.toMatch(/Transfer failed|tsig verify failure|Couldn't verify/);
  });

  it('refuses a replayed signed transfer request, from the same and from other addresses', async () => {
    const now = Math.floor(Date.now() / 1000);
    const axfr = signRequest(buildQuery({ name: 'example.test', type: 252, id: 0x5151 }), KEY, now).message;
    const first = await tcpFirst(server.port, axfr, '127.0.0.1');
    expect([parseReply(first).header.rcode, tsigError(first)]).toEqual([0, 0]);
    expect(parseReply(first).answers.length).toBeGreaterThan(2);
    for (const from of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const again = await tcpFirst(server.port, axfr, from);
      // NOTAUTH with TSIG error BADTIME (18), no records.
      expect([parseReply(again).header.rcode, tsigError(again), parseReply(again).answers.length]).toEqual([9, 18, 0]);
    }
    const refused = server.logs.filter((l) => l.msg === 'zone transfer not served: bad TSIG');
    expect(refused.length).toBeGreaterThan(0);
  });

  it('refuses a request signed 60,000 s ago with fudge 65535 (the server bounds the fudge at 300 s)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = signRequest(buildQuery({ name: 'example.test', type: 252 }), KEY, now - 60_000, 65_535).message;
    const reply = await tcpFirst(server.port, old, '127.0.0.1');
    expect([parseReply(reply).header.rcode, tsigError(reply)]).toEqual([9, 18]);
  });

  it('refuses a MAC truncated to 16 of 32 octets (BADTRUNC) through the real dig -y hmac-sha256-128', async () => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(server.port), '+tcp', '-y', `hmac-sha256-128:${KEY.name}:${KEY.secret.toString('base64')}`, 'example.test', 'SOA']).catch((e: { stdout: string }) => e);
    expect(stdout).toMatch(/status: NOTAUTH/);
  });

  it('warns at start about an md5 key, naming it', () => {
    const warning = server.logs.find((l) => l.msg === 'TSIG key uses a weak algorithm (RFC 8945 §6: use hmac-sha256)');
    expect(warning).toMatchObject({ key: 'old-key.', algorithm: 'hmac-md5' });
  });

  it('does not start with a 1-octet secret, and says which key', async () => {
    const r = await runCli(['serve', '--zones', zones.dir, '--listen', '127.0.0.1:0', '--tsig-key', 'tiny:hmac-sha256:AQ==']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tsig-key.*key "tiny": secret is 1 octet; at least 16 are needed/);
    expect(r.stderr).not.toContain('AQ==');
  });
});
