/**
 * V8 runs new code in its interpreter and compiles a function to optimised machine code only
 * once it has run hot for a while, so a server that opens its sockets cold answers its first
 * few thousand queries many times slower than the rest (measured at 10k q/s right after start:
 * p99 10–13 ms over the first 5,000 queries, ~0.2 ms afterwards). Running the query path on
 * questions before /ready says 200 (app/warm-up.ts) moves that cost before the first client: a
 * restarted `--workers` worker, or a pod the moment /ready lets traffic in.
 *
 * The questions are about names the zones really hold, with the types they really own: made-up
 * names only ever take the NXDOMAIN path, and the first real clients then compiled (and
 * deoptimised) the positive answer, the additional section, load spreading and the reply-cache
 * templates themselves: ~50 TurboFan compilations and ~10 deoptimisations after /ready,
 * measured with --trace-opt --trace-deopt (docs/performance.md, Latency from a cold start).
 *
 * Two handlers take turns: one with the server's reply cache, which answers all but the first
 * of each question from the cache (and then starts serving with those answers: they are the
 * zones' own, checked against the snapshot like any other), and one whose cache keeps nothing,
 * so that resolving and rendering run on every query too, as they do for each new question a
 * client asks. Neither may count or log (no metrics, no query log) nor reach the network (no
 * forwarding). The etcd index's own report of an RRset cut to the message bounds (once per name
 * and type, sources/etcd/oversize.ts) may come from these questions: it describes the data.
 */
import { RRClass, RRType, isMetaType } from '../dns/constants.js';
import { childName, type Name } from '../dns/name.js';
import type { ZoneView } from '../table/zone.js';
import type { QueryContext, QueryHandler } from '../transport/types.js';
import { withoutTrailingOpt } from '../wire/header.js';
import { buildUpstreamQuery } from '../wire/relay.js';

/**
 * Enough for TurboFan to optimise decode, lookup, resolve, spreading and render. Measured in
 * process (the bench's zone of 1k services, then 30k of its queries through a chain like the
 * server's, --trace-opt --trace-deopt, on the loaded 2-core box): compilations and deopts left
 * for the queries 71 with the made-up questions before, 34-36 after 4,000 of these, 15-17 after
 * 10,000, 12 after 20,000. 10,000 cost ~150 ms more CPU than the made-up ones (compiler threads
 * included), which the first 30k queries then saved (~360 → ~150 ms).
 */
const WARM_UP_QUERIES = 10_000;

/** Zones whose names are asked: a few are as good as all for the compiler. */
const ZONES_ASKED = 8;
/** Owner names asked per zone, in the order the zone lists them (a transfer's: apex first). */
const NAMES_PER_ZONE = 32;

const CONTEXT: QueryContext = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 0, localPort: 0 };

interface Question {
  readonly name: Name;
  readonly type: number;
}

/**
 * What is asked of one zone: the records of its first NAMES_PER_ZONE owner names, one type
 * each name lacks (NODATA), and a name that does not exist (NXDOMAIN, the SOA in authority).
 */
function questionsFor(zone: ZoneView): Question[] {
  const out: Question[] = [
    { name: zone.origin, type: RRType.SOA },
    { name: childName('warm-up-nxdomain', zone.origin), type: RRType.A },
  ];
  let names = 0;
  // Lazy for etcd views: only the nodes reached are computed.
  for (const [name, node] of zone.transferNodes()) {
    if (names++ >= NAMES_PER_ZONE) break;
    // At the apex only SOA (above) and NS: an etcd zone's apex A and AAAA are every address in
    // the zone when it has no `dns/apex` (CoreDNS checkForApex), 100k records at 100k keys, and
    // the chain whose cache keeps nothing rendered them again (4,096 of them, then cut: TC over
    // UDP) on each of its turns: a question no client's traffic looks like, compiling nothing
    // the names below the apex do not.
    if (name === zone.origin) {
      if (node.has(RRType.NS)) out.push({ name, type: RRType.NS });
      continue;
    }
    for (const type of node.keys()) if (!isMetaType(type)) out.push({ name, type });
    const lacking = [RRType.A, RRType.AAAA, RRType.TXT].find((t) => !node.has(t) && !node.has(RRType.CNAME));
    if (lacking !== undefined) out.push({ name, type: lacking });
  }
  return out;
}

/**
 * Asks `queries` questions about the names of some of `zones` (see questionsFor), and a name in
 * none of them, each question of each of `handlers` in turn. Replies are discarded; a handler
 * that returns a promise is not waited for.
 */
export function warmUpQueryPath(handlers: readonly QueryHandler[], zones: Iterable<ZoneView>, queries = WARM_UP_QUERIES): void {
  const questions: Question[] = [{ name: 'warm-up.invalid', type: RRType.A }];
  let asked = 0;
  for (const zone of zones) {
    if (asked++ >= ZONES_ASKED) break;
    questions.push(...questionsFor(zone));
  }
  // With and without EDNS: render() takes a different branch for each.
  const messages = questions.flatMap((q, i) => {
    const withEdns = buildUpstreamQuery({ ...q, class: RRClass.IN, flags: 0, edns: undefined }, i, 1232);
    return [withEdns, withoutTrailingOpt(withEdns)];
  });
  const turns = handlers.length;
  for (let i = 0; i < queries && turns > 0; i++) {
    const reply = handlers[i % turns]!(messages[Math.floor(i / turns) % messages.length]!, CONTEXT);
    // Never left unhandled, should a handler forward after all.
    if (reply instanceof Promise) reply.catch(() => {});
  }
}
