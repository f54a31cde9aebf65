/**
 * external-dns (`--provider=coredns`) as the writer: keys and values written exactly as its
 * coredns provider writes them (provider/coredns/coredns.go: one key per target under the
 * record's name with a random 8-hex-digit leaf label, `targetstrip: 1` so the leaf is not part
 * of the name, `ttl` when set, and the TXT registry's ownership text in `text` - on the first
 * target's key for a same-name TXT record, on a key of its own for the `a-`/`cname-` prefixed
 * TXT names), replayed against a real etcd and the built server in both --compat modes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digUntil, type DigResult } from './support/dig.js';
import { startEtcd, type EtcdCluster } from './support/etcd.js';
import { startServer, type ServerProcess } from './support/server.js';
import { tempZones } from './support/zones.js';

/** The TXT registry's text, quotes included (labels serialized with quotes, as external-dns writes them). */
const OWNER = '"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/web"';
/** How dig shows that text: one string, its quotes escaped. */
const OWNER_TXT = `"${OWNER.replaceAll('"', '\\"')}"`;

/** external-dns `etcdKeyFor(prefix + "." + dnsName)` with prefix `fmt.Sprintf("%08x", rand.Int31())`. */
const leaf = () => (randomBytes(4).readUInt32BE(0) & 0x7fffffff).toString(16).padStart(8, '0');
const keyFor = (name: string) => `/skydns/${name.split('.').reverse().join('/')}`;

/** The JSON external-dns writes (Go `json.Marshal` of its Service: omitempty, this field order). */
function service(s: { host?: string; text?: string; ttl?: number }): string {
  return JSON.stringify({ host: s.host, text: s.text, ttl: s.ttl, targetstrip: 1 });
}

const datas = (r: DigResult, section: 'answer' | 'additional' = 'answer') => r[section].map((a) => `${a.name} ${a.ttl} ${a.type} ${a.data}`).sort();

describe.each(['rfc', 'coredns'])('records written by external-dns, --compat %s', (mode) => {
  let etcd: EtcdCluster;
  let server: ServerProcess;
  const zones = tempZones({});
  const wwwKeys = [leaf(), leaf()];
  const put = (name: string, value: string) => etcd.client.put(keyFor(name)).value(value);

  beforeAll(async () => {
    etcd = await startEtcd();
    // A record www.example.test with two targets, TTL 60, and its TXT registry records: the
    // same-name TXT goes into the first target's key, the `a-` prefixed one into a key of its own.
    await put(`${wwwKeys[0]}.www.example.test`, service({ host: '192.0.2.1', text: OWNER, ttl: 60 }));
    await put(`${wwwKeys[1]}.www.example.test`, service({ host: '192.0.2.2', ttl: 60 }));
    await put(`${leaf()}.a-www.example.test`, service({ text: OWNER }));
    // CNAME app.example.test to a load balancer outside our zones, with its ownership text.
    await put(`${leaf()}.app.example.test`, service({ host: 'lb-123.elb.example.org', text: OWNER, ttl: 300 }));
    await put(`${leaf()}.cname-app.example.test`, service({ text: OWNER }));
    // CNAME docs.example.test to a name in the zone.
    await put(`${leaf()}.docs.example.test`, service({ host: 'www.example.test' }));
    server = await startServer(['--etcd', etcd.endpoints.join(','), '--etcd-zone', 'example.test', '--compat', mode, '--zones', zones.dir]);
    await digUntil(server.port, ['www.example.test', 'A'], (r) => r.answer.length === 2, 10_000);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await etcd?.stop();
    zones.remove();
  });

  it('A: every target of the record, with its TTL; the random leaf keys are names of their own', async () => {
    expect(datas(await dig(server.port, ['www.example.test', 'A']))).toEqual(['www.example.test. 60 A 192.0.2.1', 'www.example.test. 60 A 192.0.2.2']);
    expect(datas(await dig(server.port, [`${wwwKeys[1]}.www.example.test`, 'A']))).toEqual([`${wwwKeys[1]}.www.example.test. 60 A 192.0.2.2`]);
    const aaaa = await dig(server.port, ['www.example.test', 'AAAA']);
    expect([aaaa.status, aaaa.answer.length, aaaa.authority[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);
  });

  it('TXT: the ownership records, at the name and at the a-/cname- prefixed names', async () => {
    expect(datas(await dig(server.port, ['www.example.test', 'TXT']))).toEqual([`www.example.test. 60 TXT ${OWNER_TXT}`]);
    expect(datas(await dig(server.port, ['a-www.example.test', 'TXT']))).toEqual([`a-www.example.test. 10 TXT ${OWNER_TXT}`]);
    // app is a CNAME (a host name, no port): in rfc mode its CNAME answers TXT too (RFC 2181 §10.1:
    // a resolver that cached it from an A query answers TXT from the target); CoreDNS gives the text.
    expect(datas(await dig(server.port, ['app.example.test', 'TXT']))).toEqual(
      mode === 'rfc' ? ['app.example.test. 300 CNAME lb-123.elb.example.org.'] : [`app.example.test. 300 TXT ${OWNER_TXT}`],
    );
    expect(datas(await dig(server.port, ['cname-app.example.test', 'TXT']))).toEqual([`cname-app.example.test. 10 TXT ${OWNER_TXT}`]);
  });

  it('CNAME: a host name with ownership text is still the CNAME (coredns#6110), for A and CNAME queries', async () => {
    expect(datas(await dig(server.port, ['app.example.test', 'A']))).toEqual(['app.example.test. 300 CNAME lb-123.elb.example.org.']);
    expect(datas(await dig(server.port, ['app.example.test', 'CNAME']))).toEqual(['app.example.test. 300 CNAME lb-123.elb.example.org.']);
  });

  it('CNAME inside the zone: followed to the addresses', async () => {
    expect(datas(await dig(server.port, ['docs.example.test', 'A']))).toEqual([
      'docs.example.test. 10 CNAME www.example.test.',
      'www.example.test. 60 A 192.0.2.1',
      'www.example.test. 60 A 192.0.2.2',
    ]);
  });

  it('targetstrip: SRV targets are the record name, not the random leaf, with both addresses as glue', async () => {
    const r = await dig(server.port, ['www.example.test', 'SRV']);
    // Both keys give the same target and port: one SRV record (CoreDNS dedups on target and port).
    expect(datas(r)).toEqual(['www.example.test. 60 SRV 10 50 0 www.example.test.']);
    expect(datas(r, 'additional')).toEqual(['www.example.test. 60 A 192.0.2.1', 'www.example.test. 60 A 192.0.2.2']);
  });

  it('a target removed (external-dns deletes its key) and one added show in the answers', async () => {
    await etcd.client.delete().key(keyFor(`${wwwKeys[1]}.www.example.test`));
    await put(`${leaf()}.www.example.test`, service({ host: '192.0.2.3', ttl: 60 }));
    const r = await digUntil(server.port, ['www.example.test', 'A'], (x) => x.answer.some((a) => a.data === '192.0.2.3') && x.answer.length === 2);
    expect(datas(r)).toEqual(['www.example.test. 60 A 192.0.2.1', 'www.example.test. 60 A 192.0.2.3']);
  });
});
