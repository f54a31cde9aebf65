import type { Name } from '../dns/name.js';
import type { RR } from '../dns/records.js';

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
 * - `notours`: no zone we serve contains the name.
 */
export type Outcome = Resolved | NotOurs;

export interface Resolved {
  readonly kind: 'answer' | 'nodata' | 'nxdomain' | 'referral';
  /** Origin of the zone the question fell in (for metrics and logs). */
  readonly zone: Name;
  readonly answer: readonly RR[];
  readonly authority: readonly RR[];
  readonly additional: readonly RR[];
}

export interface NotOurs {
  readonly kind: 'notours';
}

export const NOT_OURS: NotOurs = Object.freeze({ kind: 'notours' });
