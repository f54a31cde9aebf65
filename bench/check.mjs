// Answer checks: before a server is measured, dig asks it the benchmark's questions for a few
// services and compares what comes back with data.mjs's expected answers. A wrong answer aborts the run.
import { spawnSync } from 'node:child_process';
import { die, sleep } from './lib.mjs';
import { TTL, expectedAnswers } from './data.mjs';

/** dig one question; returns status, flags and the ANSWER / ADDITIONAL records. */
export function dig(port, name, type, { recurse = false } = {}) {
  const args = ['@127.0.0.1', '-p', String(port), name, type, '+time=1', '+tries=2'];
  if (!recurse) args.push('+norecurse');
  const out = spawnSync('dig', args, { encoding: 'utf8' }).stdout;
  const flags = ((out.match(/;; flags: ([^;]*);/) || [])[1] ?? '').trim().split(/\s+/);
  return {
    status: (out.match(/status: (\w+)/) || [])[1],
    aa: flags.includes('aa'),
    answer: section(out, 'ANSWER'),
    additional: section(out, 'ADDITIONAL'),
    raw: out,
  };
}
function section(out, title) {
  // Lines "owner TTL class type rdata..." up to the blank line that ends the section.
  const sec = out.split(`;; ${title} SECTION:`)[1];
  if (!sec) return [];
  return sec.split('\n\n')[0].split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 5)
    .map((f) => ({ owner: f[0].toLowerCase(), ttl: Number(f[1]), type: f[3], rdata: f.slice(4).join(' ').toLowerCase() }));
}
/** "owner. TYPE rdata" per record, in the order the server sent them. */
const inOrder = (rrs) => rrs.map((r) => `${r.owner} ${r.type} ${r.rdata}`);
/**
 * The same, sorted: the content checks compare sections as multisets, since with load spreading
 * (etcdns --rotate on, the default) the ORDER of an RRset changes from query to query — A/AAAA
 * rotate one step per query, SRV records are ordered per query by RFC 2782 weight. Sorting keeps
 * duplicates, so a missing, extra or repeated record is still a difference.
 */
const asStrings = (rrs) => inOrder(rrs).sort();

/**
 * What is wrong with one answer, as a list of problems (empty = right). `authoritative`: AA must
 * be set and TTLs exactly TTL; a forwarder answers from its cache without AA, with TTLs ≤ TTL.
 */
function problemsOf(d, want, authoritative) {
  const p = [];
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (d.status !== 'NOERROR') p.push(`status ${d.status}`);
  if (authoritative && !d.aa) p.push('AA not set');
  if (!same(asStrings(d.answer), want.answer)) p.push(`ANSWER ${JSON.stringify(asStrings(d.answer))}, want ${JSON.stringify(want.answer)}`);
  if (want.additional && !same(asStrings(d.additional), want.additional)) {
    p.push(`ADDITIONAL ${JSON.stringify(asStrings(d.additional))}, want the targets' addresses ${JSON.stringify(want.additional)}`);
  }
  const ttls = [...d.answer, ...d.additional].map((r) => r.ttl);
  if (ttls.some((t) => (authoritative ? t !== TTL : t < 0 || t > TTL))) p.push(`TTLs ${JSON.stringify(ttls)}, want ${authoritative ? '' : '≤ '}${TTL}`);
  return p;
}

/**
 * Ask srv the A and SRV questions of the first, a middle and the last service and compare every
 * section with the expected answers (content exact, order free); die on any difference. Retries a
 * not-yet-answering server (Knot loads its zone after start-up) for a few seconds before judging.
 *
 * `order` also checks the order of the records, for the comparison of rotation on and off:
 * 'written' — every ANSWER is in zone-file order (etcdns --rotate off); 'rotates' — four A
 * queries in a row for the first service do not all start with the same address (etcdns with
 * rotation on, so that "on vs off" compares what it says).
 */
export async function checkServer(srv, services, { authoritative = true, order = null } = {}) {
  const problems = [];
  const sample = [...new Set([services[0], services[services.length >> 1], services[services.length - 1]])];
  for (const s of sample) {
    for (const want of Object.values(expectedAnswers(s))) {
      let d;
      for (let i = 0; i < 50; i++) {
        d = dig(srv.port, want.qname, want.qtype, { recurse: !authoritative });
        if (d.status === 'NOERROR' && d.answer.length) break;
        await sleep(100);
      }
      for (const p of problemsOf(d, want, authoritative)) problems.push(`${want.qname} ${want.qtype}: ${p}`);
      if (order === 'written' && JSON.stringify(inOrder(d.answer)) !== JSON.stringify(want.written)) {
        problems.push(`${want.qname} ${want.qtype}: ANSWER order ${JSON.stringify(inOrder(d.answer))}, want the written order ${JSON.stringify(want.written)}`);
      }
    }
  }
  if (order === 'rotates') {
    const { qname } = expectedAnswers(services[0]).aQuery;
    const firsts = [];
    for (let i = 0; i < 4; i++) firsts.push(dig(srv.port, qname, 'A').answer[0]?.rdata);
    if (new Set(firsts).size < 2) problems.push(`${qname} A: the first address is ${firsts[0]} in 4 answers in a row; want the RRset rotated (--rotate on)`);
  }
  if (problems.length) die(`${srv.name} answers wrongly on 127.0.0.1:${srv.port} (log: ${srv.child.logFile}):\n  ${problems.join('\n  ')}`);
}
