/**
 * The server as a user meets it: the built CLI started as a process on a random loopback port,
 * queried with the real `dig` and with raw packets over real UDP and TCP sockets.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig } from './support/dig.js';
import { tcpExchange, udpExchange } from './support/client.js';
import { buildQuery, parseReply, RCODE, TYPE } from './support/packets.js';
import { REPO_ROOT, startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

const LONG_TEXT = 'v=long;' + 'a'.repeat(300) + 'b'.repeat(100);
const MANY = Array.from({ length: 60 }, (_, i) => `big A 10.1.0.${i}`).join('\n');
const ZONE = `
$ORIGIN example.test.
$TTL 60
@        SOA ns1 hostmaster ( 2026112101 ; serial
                              7200 1800 86400 30 )
@        NS  ns1
ns1      A   192.0.2.53
www      A   192.0.2.10
www      AAAA 2001:db8::10
docs     CNAME www
_http._tcp.api SRV 10 60 8080 api1
_http._tcp.api SRV 10 40 8081 api2
api1     A   192.0.2.31
api1     AAAA 2001:db8::31
api2     A   192.0.2.32
long     TXT "${LONG_TEXT}"
*.apps   A   192.0.2.80
${MANY}
`;

let server: ServerProcess;
let zones: ReturnType<typeof tempZones>;

beforeAll(async () => {
  zones = tempZones({ 'example.test.zone': ZONE });
  server = await startServer(['--zones', zones.dir]);
});
afterAll(async () => {
  const code = await server?.stop();
  zones?.remove();
  // A clean SIGTERM shutdown exits 0.
  expect(code).toBe(0);
});

describe('answers over UDP and TCP with dig', () => {
  it.each([[[]], [['+tcp']]])('A with the AA bit %s', async (extra) => {
    const r = await dig(server.port, ['www.example.test', 'A', ...extra]);
    expect(r.status).toBe('NOERROR');
    expect(r.flags).toEqual(expect.arrayContaining(['qr', 'aa']));
    expect(r.flags).not.toContain('ra');
    expect(r.answer).toEqual([{ name: 'www.example.test.', ttl: 60, class: 'IN', type: 'A', data: '192.0.2.10' }]);
  });

  it('SRV with targets A and AAAA in the additional section', async () => {
    const r = await dig(server.port, ['_http._tcp.api.example.test', 'SRV']);
    expect(r.answer.map((a) => a.data).sort()).toEqual(['10 40 8081 api2.example.test.', '10 60 8080 api1.example.test.']);
    expect(r.additional.map((a) => `${a.name} ${a.type} ${a.data}`).sort()).toEqual([
      'api1.example.test. A 192.0.2.31',
      'api1.example.test. AAAA 2001:db8::31',
      'api2.example.test. A 192.0.2.32',
    ]);
  });

  it('NXDOMAIN and NODATA with the SOA in authority, TTL = SOA minimum (RFC 2308)', async () => {
    const nx = await dig(server.port, ['missing.example.test', 'A']);
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.flags).toContain('aa');
    expect(nx.authority).toMatchObject([{ name: 'example.test.', type: 'SOA', ttl: 30 }]);
    const nodata = await dig(server.port, ['www.example.test', 'TXT']);
    expect(nodata.status).toBe('NOERROR');
    expect(nodata.answer).toEqual([]);
    expect(nodata.authority).toMatchObject([{ name: 'example.test.', type: 'SOA', ttl: 30 }]);
  });

  it('matches case-insensitively and echoes the question as sent', async () => {
    const r = await dig(server.port, ['WwW.ExAmPlE.TeSt', 'A']);
    expect(r.raw).toContain(';WwW.ExAmPlE.TeSt.');
    expect(r.answer[0]).toMatchObject({ name: 'WwW.ExAmPlE.TeSt.', data: '192.0.2.10' });
  });

  it('follows a CNAME and synthesises from a wildcard', async () => {
    expect((await dig(server.port, ['docs.example.test', 'A'])).answer.map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect((await dig(server.port, ['anything.apps.example.test', 'A'])).answer).toMatchObject([{ name: 'anything.apps.example.test.', data: '192.0.2.80' }]);
  });

  it('splits TXT longer than 255 octets into character-strings that join back', async () => {
    const r = await dig(server.port, ['long.example.test', 'TXT']);
    const strings = [...r.answer[0]!.data.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.map((s) => s.length)).toEqual([255, LONG_TEXT.length - 255]);
    expect(strings.join('')).toBe(LONG_TEXT);
  });

  it('refuses names outside every zone and answers ANY with one RRset (RFC 8482)', async () => {
    expect((await dig(server.port, ['example.org', 'A'])).status).toBe('REFUSED');
    const any = await dig(server.port, ['www.example.test', 'ANY']);
    expect(any.status).toBe('NOERROR');
    // One whole RRset of the name (www has A and AAAA), whichever the server picks.
    expect([['A 192.0.2.10'], ['AAAA 2001:db8::10']]).toContainEqual(any.answer.map((a) => `${a.type} ${a.data}`));
  });

  it('tells its version over CHAOS TXT', async () => {
    const r = await dig(server.port, ['version.bind', 'TXT', 'CH']);
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.answer.map((a) => a.data)).toEqual([`"etcdns ${version}"`]);
  });
});

describe('EDNS0 and truncation (RFC 6891, RFC 7766)', () => {
  it('echoes OPT, advertising our clamped size, only when the query has one', async () => {
    const withEdns = await dig(server.port, ['www.example.test', 'A', '+bufsize=4096']);
    expect(withEdns.edns).toMatch(/udp: 1232/);
    const withDo = await dig(server.port, ['www.example.test', 'A', '+dnssec']);
    expect(withDo.edns).toMatch(/flags: do;/);
    const without = await dig(server.port, ['www.example.test', 'A', '+noedns']);
    expect(without.edns).toBeUndefined();
  });

  it('sets TC when the answer does not fit in 512 octets, and dig gets it all over TCP', async () => {
    const udpOnly = await dig(server.port, ['big.example.test', 'A', '+noedns', '+ignore']);
    expect(udpOnly.flags).toContain('tc');
    expect(udpOnly.answer).toEqual([]);
    const retried = await dig(server.port, ['big.example.test', 'A', '+noedns']);
    expect(retried.answer).toHaveLength(60);
    const large = await dig(server.port, ['big.example.test', 'A', '+bufsize=1232', '+ignore']);
    expect(large.flags).not.toContain('tc');
    expect(large.answer).toHaveLength(60);
  });

  it('never sends a UDP reply larger than the client allows', async () => {
    for (const size of [512, 600, 1000, 1232, 4096]) {
      const reply = await udpExchange(server.port, buildQuery({ name: 'big.example.test', type: 'A', edns: { udpSize: size } }));
      expect(reply).not.toBeNull();
      expect(reply!.length).toBeLessThanOrEqual(Math.min(size, 1232));
    }
  });
});

describe('TCP (RFC 7766)', () => {
  it('answers several pipelined queries on one connection', async () => {
    const names = ['www.example.test', 'docs.example.test', 'missing.example.test'];
    const replies = await tcpExchange(
      server.port,
      names.map((name, i) => buildQuery({ name, type: 'A', id: 100 + i })),
    );
    const byId = new Map(replies.map((r) => [parseReply(r).header.id, parseReply(r)]));
    expect(byId.get(100)!.answers).toHaveLength(1);
    expect(byId.get(101)!.answers).toHaveLength(2);
    expect(byId.get(102)!.header.rcode).toBe(RCODE.NXDOMAIN);
  });
});

describe('malformed input never crashes the server', () => {
  it('answers FORMERR when the header is readable and drops what is not', async () => {
    const header = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    const loop = Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    const reply = await udpExchange(server.port, loop);
    expect(reply).not.toBeNull();
    expect(reply!.readUInt16BE(0)).toBe(0xabcd);
    expect(reply![3]! & 0x0f).toBe(RCODE.FORMERR);
    expect(await udpExchange(server.port, Buffer.from([1, 2, 3]), { timeoutMs: 300 })).toBeNull();
  });

  it('answers NOTIMP for an unknown opcode', async () => {
    const q = buildQuery({ name: 'www.example.test', type: 'A' });
    q[2] = (q[2]! & 0x87) | (5 << 3); // opcode UPDATE
    const reply = parseReply((await udpExchange(server.port, q))!);
    expect(reply.header.rcode).toBe(RCODE.NOTIMP);
  });

  it('keeps answering valid queries through a burst of garbage over UDP and TCP', async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const valid = buildQuery({ name: 'www.example.test', type: 'A', edns: {} });
    const garbage: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(valid);
      const flips = 1 + Math.floor(random() * 6);
      for (let f = 0; f < flips; f++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      garbage.push(random() < 0.3 ? b.subarray(0, Math.floor(random() * b.length)) : b);
    }
    await Promise.all(garbage.map((g) => udpExchange(server.port, g, { timeoutMs: 300 })));
    await tcpExchange(server.port, garbage.slice(0, 50), { expected: 0, timeoutMs: 300 }).catch(() => []);
    const after = await dig(server.port, ['www.example.test', 'A']);
    expect(after.answer[0]!.data).toBe('192.0.2.10');
    const tcpAfter = await tcpExchange(server.port, [valid]);
    expect(parseReply(tcpAfter[0]!).answers[0]!.type).toBe(TYPE.A);
  });
});

describe('--udp-io', () => {
  it('serves UDP through the native batch engine by default, and through dgram when asked', async () => {
    expect(server.logs.find((l) => l.msg === 'listening')!.udpIo).toBe('batch');
    const viaDgram = await startServer(['--zones', zones.dir, '--udp-io', 'dgram']);
    try {
      expect(viaDgram.logs.find((l) => l.msg === 'listening')!.udpIo).toBe('dgram');
      const r = await dig(viaDgram.port, ['_http._tcp.api.example.test', 'SRV']);
      expect(r.status).toBe('NOERROR');
      expect(r.answer.map((a) => a.data).sort()).toEqual(['10 40 8081 api2.example.test.', '10 60 8080 api1.example.test.']);
    } finally {
      expect(await viaDgram.stop()).toBe(0);
    }
  });

  it('a batch callback that throws reaches uncaughtException, as a throwing dgram listener would', () => {
    // A child process: the exception is meant to reach the process, not this test runner.
    const script = `
      import dgram from 'node:dgram';
      const { loadUdpBatch, BatchUdpEndpoint } = await import('./dist/transport/udp-batch.js');
      process.on('uncaughtException', (err) => { console.log('uncaught: ' + err.message); process.exit(0); });
      const host = { answer: () => { throw new Error('boom in batch'); }, udpError() {}, dropped() {} };
      const endpoint = BatchUdpEndpoint.open(loadUdpBatch().addon, '127.0.0.1', 0, false, host);
      dgram.createSocket('udp4').send('x', endpoint.port, '127.0.0.1');
      setTimeout(() => { console.log('nothing reported'); process.exit(1); }, 3000);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    expect(out.trim()).toBe('uncaught: boom in batch');
  });

  it('a worker thread terminated with a batch socket open does not take the process down', () => {
    // Node unloads the addon when a worker ends: nothing of it may run afterwards (a child
    // process, because a crash here would be a segfault).
    const script = `
      import { Worker } from 'node:worker_threads';
      import dgram from 'node:dgram';
      import { pathToFileURL } from 'node:url';
      const moduleUrl = new URL('dist/transport/udp-batch.js', pathToFileURL(process.cwd() + '/')).href;
      const WORKER_SOURCE = [
        "const { parentPort } = await import('node:worker_threads');",
        'const { loadUdpBatch, BatchUdpEndpoint } = await import(' + JSON.stringify(moduleUrl) + ');',
        "const host = { answer: () => Buffer.from('R'), udpError() {}, dropped() {} };",
        "parentPort.postMessage(BatchUdpEndpoint.open(loadUdpBatch().addon, '127.0.0.1', 0, false, host).port);",
      ].join('\\n');
      for (let round = 0; round < 3; round++) {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        const port = await new Promise((resolve) => worker.once('message', resolve));
        const client = dgram.createSocket('udp4');
        const reply = new Promise((resolve) => client.once('message', (m) => resolve(m.toString())));
        client.send('q', port, '127.0.0.1');
        if ((await reply) !== 'R') process.exit(2);
        client.close();
        await worker.terminate();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      console.log('survived');`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    expect(out.trim()).toBe('survived');
  });
});
