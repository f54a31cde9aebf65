import { typeName } from '../../dns/constants.js';
import { toPresentation, type Name } from '../../dns/name.js';
import type { Logger } from '../../log.js';
import { MAX_RRSET_OCTETS, MAX_RRSET_RECORDS, type OnOversize } from './skydns-answers.js';

/** Names remembered as reported; past this many the memory starts over (a bound, not a goal). */
const REMEMBERED = 10_000;

/**
 * Reports an answer cut to the RRset bounds once per name and type: a warning naming the
 * name and how many records it has, and one count. The index recomputes a cut set for every new
 * version of its zone, so without the memory a busy zone would repeat the warning per change.
 */
export function oversizeReporter(log: Logger, metrics: () => { rrsetCut(): void } | undefined): OnOversize {
  const reported = new Set<string>();
  return (name: Name, type: number, total: number) => {
    const id = `${type}:${name}`;
    if (reported.has(id)) return;
    if (reported.size >= REMEMBERED) reported.clear();
    reported.add(id);
    metrics()?.rrsetCut();
    log.warn(
      { name: toPresentation(name), type: typeName(type), records: total, served: `at most ${MAX_RRSET_RECORDS} records, ${MAX_RRSET_OCTETS} octets` },
      'answer cut to the RRset bound: the name aggregates more records than a DNS message holds',
    );
  };
}
