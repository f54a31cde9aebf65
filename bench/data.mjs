// The benchmark data set, in every form the servers load it (etcd keys, zone file, naive-dns2
// records), the dnsperf query file, and the answers every server must give.
//
// Service svcI has three instances xK (K = 1..3) with addresses ipOf(3I+K), registered the
// SkyDNS way as etcd keys /skydns/test/bench/svcI/_tcp/_http/xK = {"host":"10.a.b.c","port":8080}.
// From those keys etcdns (like SkyDNS/CoreDNS etcd) answers
//   svcI.bench.test A              -> the 3 addresses (every host of the subtree)
//   _http._tcp.svcI.bench.test SRV -> 3 × "10 33 8080 xK._http._tcp.svcI.bench.test." with the
//                                     targets' A records in ADDITIONAL
//   xK._http._tcp.svcI.bench.test A -> one address
// The zone file spells out exactly these records, so every server gets the same questions and
// gives the same answers.

export const ZONE = 'bench.test';
export const TTL = 10; // etcdns' default TTL for etcd records that set none (--etcd-default-ttl)
const SRV_PREFIX = '_http._tcp';

export function ipOf(index) { return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`; }

/** n services, each { name: 'svcI', inst: [{ label: 'xK', ip }] × 3 }. */
export function genServices(n) {
  const services = [];
  for (let i = 0; i < n; i++) services.push({ name: `svc${i}`, inst: [1, 2, 3].map((k) => ({ label: `x${k}`, ip: ipOf(3 * i + k) })) });
  return services;
}

/** Records per service in the zone file (3 A at the service, 3 SRV, 3 target A). */
export const RECORDS_PER_SERVICE = 9;
/** Records of the zone apex (SOA, NS, the NS address). */
export const APEX_RECORDS = 3;

const fq = (s) => `${s.name}.${ZONE}`;
const srvName = (s) => `${SRV_PREFIX}.${fq(s)}`;
const target = (s, x) => `${x.label}.${srvName(s)}`;

/** etcd [key, value] pairs of the data set (SkyDNS layout: labels reversed under the prefix). */
export function etcdEntries(services, prefix = '/skydns') {
  const out = [];
  for (const s of services) {
    for (const x of s.inst) out.push([`${prefix}/test/bench/${s.name}/_tcp/_http/${x.label}`, JSON.stringify({ host: x.ip, port: 8080 })]);
  }
  return out;
}

/** Every record of the data set as { name, type, ttl, ...rdata }, names without the final dot. */
export function records(services) {
  const r = [];
  for (const s of services) {
    for (const x of s.inst) r.push({ name: fq(s), type: 'A', ttl: TTL, address: x.ip });
    for (const x of s.inst) r.push({ name: srvName(s), type: 'SRV', ttl: TTL, priority: 10, weight: 33, port: 8080, target: target(s, x) });
    for (const x of s.inst) r.push({ name: target(s, x), type: 'A', ttl: TTL, address: x.ip });
  }
  return r;
}

export function zoneFile(services) {
  const out = [`$ORIGIN ${ZONE}.`, `$TTL ${TTL}`, '@ SOA ns.dns hostmaster 1 7200 1800 86400 10', '@ NS ns.dns', 'ns.dns A 10.255.255.254'];
  for (const r of records(services)) {
    out.push(r.type === 'A' ? `${r.name}. ${r.ttl} IN A ${r.address}` : `${r.name}. ${r.ttl} IN SRV ${r.priority} ${r.weight} ${r.port} ${r.target}.`);
  }
  return out.join('\n') + '\n';
}

/** Input of bench/naive-dns2.mjs. */
export function naiveData(services) {
  return { zone: ZONE, records: records(services) };
}

/**
 * dnsperf input: exactly 70% `svcI A` and 30% `_http._tcp.svcI SRV` — 7 and 3 lines per service —
 * shuffled with a fixed seed so that every server sees the same sequence.
 */
export function queryFile(services) {
  const lines = [];
  for (const s of services) {
    for (let k = 0; k < 7; k++) lines.push(`${fq(s)} A`);
    for (let k = 0; k < 3; k++) lines.push(`${srvName(s)} SRV`);
  }
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = lines.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [lines[i], lines[j]] = [lines[j], lines[i]]; }
  return lines.join('\n') + '\n';
}

/**
 * The answers one service must get, as sorted "owner. TYPE rdata" strings (TTL checked apart):
 * the A query's ANSWER, the SRV query's ANSWER and its ADDITIONAL A records (glue). `written`:
 * the ANSWER in zone-file order (x1, x2, x3), what a server that does not reorder sends.
 */
export function expectedAnswers(s) {
  const aAnswer = s.inst.map((x) => `${fq(s)}. A ${x.ip}`);
  const srvAnswer = s.inst.map((x) => `${srvName(s)}. SRV 10 33 8080 ${target(s, x)}.`);
  return {
    aQuery: { qname: fq(s), qtype: 'A', answer: [...aAnswer].sort(), written: aAnswer, additional: null },
    srvQuery: {
      qname: srvName(s), qtype: 'SRV',
      answer: [...srvAnswer].sort(), written: srvAnswer,
      additional: s.inst.map((x) => `${target(s, x)}. A ${x.ip}`).sort(),
    },
  };
}

export const DATASET_SHAPE = 'SkyDNS: etcd /skydns/test/bench/svcI/_tcp/_http/xK (K=1..3); svcI A -> the 3 addresses of the subtree; '
  + '_http._tcp.svcI SRV -> 3 x "10 33 8080 xK._http._tcp.svcI.bench.test." with the targets\' A records in ADDITIONAL';
export const QUERY_MIX = '70% svcI.bench.test A, 30% _http._tcp.svcI.bench.test SRV (7:3 per service, shuffled, fixed seed)';
