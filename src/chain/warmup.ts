/**
 * V8 runs new code in its interpreter and compiles a function to optimised machine code only
 * once it has run hot for a while, so a server that opens its sockets cold answers its first
 * few thousand queries many times slower than the rest (measured at 10k q/s right after start:
 * p99 10–13 ms over the first 5,000 queries, ~0.2 ms afterwards). Running the query path on
 * made-up questions before the listeners open moves that cost before the first client: a
 * restarted `--workers` worker, or a pod the moment /ready lets traffic in.
 *
 * The handler must be a throwaway pipeline (no metrics, no query log, its own reply cache):
 * only the compiled code carries over to the real one.
 */
import { RRClass, RRType } from '../dns/constants.js';
import { childName, type Name } from '../dns/name.js';
import type { QueryContext, QueryHandler } from '../transport/types.js';
import { withoutTrailingOpt } from '../wire/header.js';
import { buildUpstreamQuery } from '../wire/relay.js';

/** Enough for V8 to optimise decode, lookup, resolve and render; ~20-40 ms on one core. */
const WARM_UP_QUERIES = 10_000;

/** Zones whose names are asked: a few are as good as all for the compiler. */
const ZONES_ASKED = 8;

const CONTEXT: QueryContext = { transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 0, localPort: 0 };

/**
 * Answers WARM_UP_QUERIES made-up questions with `handle`: for some of `zones`, the apex SOA and
 * NS, common names (A, AAAA, SRV, TXT) that exist or not, and a name in no zone. Replies are
 * discarded; a handler that returns a promise (forwarding) is not waited for.
 */
export function warmUpQueryPath(handle: QueryHandler, zones: Iterable<Name>, queries = WARM_UP_QUERIES): void {
  const questions: { name: Name; type: number }[] = [{ name: 'warm-up.invalid', type: RRType.A }];
  let asked = 0;
  for (const zone of zones) {
    if (asked++ >= ZONES_ASKED) break;
    questions.push(
      { name: zone, type: RRType.SOA },
      { name: zone, type: RRType.NS },
      { name: childName('www', zone), type: RRType.A },
      { name: childName('www', zone), type: RRType.AAAA },
      { name: childName('_http', childName('_tcp', zone)), type: RRType.SRV },
      { name: childName('warm-up-nxdomain', zone), type: RRType.TXT },
    );
  }
  // With and without EDNS: render() takes a different branch for each.
  const messages = questions.flatMap((q, i) => {
    const withEdns = buildUpstreamQuery({ ...q, class: RRClass.IN, flags: 0, edns: undefined }, i, 1232);
    return [withEdns, withoutTrailingOpt(withEdns)];
  });
  for (let i = 0; i < queries; i++) {
    const reply = handle(messages[i % messages.length]!, CONTEXT);
    // Never left unhandled, should a handler forward after all.
    if (reply instanceof Promise) reply.catch(() => {});
  }
}
