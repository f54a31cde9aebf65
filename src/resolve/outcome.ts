import type { Name } from '../dns/name.js';
import type { RR } from '../dns/records.js';
import type { ZoneView } from '../table/zone.js';

/**
 * What resolving one question against a snapshot gives: a value, not a side effect, so the
 * wire layer, caches and tests all consume the same thing (CoreDNS handlers return outcomes
 * the same way).
 *
 * - `answer`: records for the question (possibly only a CNAME chain leaving our data).
 * - `nodata`: the name exists but has no records of the type (RFC 2308 §2.2).
 * - `nxdomain`: the name does not exist (RFC 2308 §2.1; after a CNAME chain the RCODE
 *   describes the last name, RFC 6604 §3).
 * - `referral`: the name is below a zone cut; NS in authority, glue in additional, AA clear
 *   (RFC 1034 §4.3.2 step 3b).
 * - `yxdomain`: a DNAME's substitution made a name too long; the answer holds the chain up to
 *   and including that DNAME (RFC 6672 §2.2).
 * - `notours`: no zone we serve contains the name.
 */
export type Outcome = Resolved | NotOurs;

export interface Resolved {
  readonly kind: 'answer' | 'nodata' | 'nxdomain' | 'referral' | 'yxdomain';
  /** Origin of the zone the question fell in (for metrics and logs). */
  readonly zone: Name;
  readonly answer: readonly RR[];
  readonly authority: readonly RR[];
  readonly additional: readonly RR[];
  /**
   * Every zone view the answer was read from: the question's zone, the zones a CNAME chain
   * entered, and those the additional-section addresses came from. The outcome holds while
   * each of them is unchanged, which is what lets a reply cache keep it across an unrelated
   * zone's change.
   */
  readonly consulted: readonly ZoneView[];
}

export interface NotOurs {
  readonly kind: 'notours';
}

export const NOT_OURS: NotOurs = Object.freeze({ kind: 'notours' });
