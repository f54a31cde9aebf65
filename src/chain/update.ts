/**
 * The DNS UPDATE stage (RFC 2136): answers every UPDATE. Checks, in order, that the zone is
 * one of our etcd zones (NOTAUTH otherwise, RFC 2136 §3.1.2; REFUSED for a zone with a zone
 * file, whose records are the file's), the update section's form (§3.4.1) and that the
 * signer's policy grants every change (REFUSED, §3.3); then the writer reads etcd, checks the
 * prerequisites and commits (src/update/writer.ts), and the reply goes out once this replica
 * serves the revision written, so that a query right after sees the change. Sits inside the
 * TSIG stage, which verified the request (`request.tsig`) and signs the reply.
 */
import { RRClass, Rcode } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import { prescan, type Verdict } from '../update/semantics.js';
import type { WriteOutcome } from '../update/writer.js';
import type { UpdateLease, UpdateMessage, UpdateRecord } from '../wire/update.js';
import { renderUpdateReply } from '../wire/update.js';
import { questionSection } from '../wire/response.js';
import type { Stage } from './request.js';

/** RFC 8914 §4 info codes. */
const EDE = { OTHER: 0, PROHIBITED: 18, NOT_AUTHORITATIVE: 20, NOT_SUPPORTED: 21 } as const;

export interface UpdateStageOptions {
  /** Whether `origin` is a zone we serve from etcd only ('etcd'), one with a zone file ('file'), or none of ours. */
  zoneKind(origin: Name): 'etcd' | 'file' | undefined;
  /** Why the signer (`key`, undefined: unsigned) at `address` may not make these changes; undefined: it may. */
  refusal(key: Name | undefined, address: string, updates: readonly UpdateRecord[]): string | undefined;
  /** Why a record to add cannot be stored in the zone; undefined when it can. */
  unstorable(zone: Name, rr: UpdateRecord): string | undefined;
  write(zone: Name, update: UpdateMessage): Promise<WriteOutcome>;
  /** Resolves true once this replica serves etcd `revision`, false when it gave up waiting. */
  served(revision: number): Promise<boolean>;
  /** Each update answered: zone (presentation, 'other' when not ours) and outcome. */
  observe(zone: string, outcome: string): void;
  /** Records an update wrote under an Update Lease. */
  observeLeased(zone: string, count: number): void;
  readonly logger: Logger;
}

export function update(o: UpdateStageOptions): Stage {
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind !== 'update') return next(request);
    const u = d.update;
    // The request object and its message buffer go on to other queries while we wait: keep copies.
    const zoneSection = Buffer.from(questionSection(request.message, d.question));
    const client = request.remoteAddress;
    const key = request.tsig?.key.name;
    const reply = (rcode: number, ede?: { code: number; text: string }, lease?: UpdateLease) =>
      renderUpdateReply({ id: d.id, queryFlags: d.flags, rcode, zoneSection, edns: d.edns, advertisedUdpSize: request.advertisedUdpSize, extendedError: ede, lease });
    const zoneLabel = (known: boolean) => (known ? toPresentation(u.zone) : 'other');
    const refuse = (known: boolean, outcome: string, verdict: Verdict, ede: number) => {
      o.observe(zoneLabel(known), outcome);
      o.logger.info({ zone: toPresentation(u.zone), client, key: key && toPresentation(key), rcode: verdict.rcode, reason: verdict.reason }, `update ${outcome}`);
      return reply(verdict.rcode, { code: ede, text: verdict.reason });
    };

    const kind = u.zoneClass === RRClass.IN ? o.zoneKind(u.zone) : undefined;
    if (!kind) return refuse(false, 'not-authoritative', { rcode: Rcode.NOTAUTH, reason: 'not a zone of this server' }, EDE.NOT_AUTHORITATIVE);
    request.zone = u.zone;
    if (kind === 'file') return refuse(true, 'refused', { rcode: Rcode.REFUSED, reason: 'the zone has a zone file: its records are the file\'s' }, EDE.PROHIBITED);
    // The update section's form first (NOTZONE, FORMERR), as Knot and BIND answer it, then the grant.
    const malformed = prescan(u.zone, u.updates, (rr) => o.unstorable(u.zone, rr));
    if (malformed) {
      const outcome = malformed.rcode === Rcode.REFUSED ? 'refused' : 'bad-request';
      return refuse(true, outcome, malformed, malformed.rcode === Rcode.REFUSED ? EDE.NOT_SUPPORTED : EDE.OTHER);
    }
    const denied = o.refusal(key, client, u.updates);
    if (denied) return refuse(true, 'refused', { rcode: Rcode.REFUSED, reason: denied }, EDE.PROHIBITED);

    return (async () => {
      let outcome: WriteOutcome;
      try {
        outcome = await o.write(u.zone, u);
      } catch (err) {
        o.observe(zoneLabel(true), 'failed');
        o.logger.warn({ zone: toPresentation(u.zone), client, err }, 'update failed: etcd');
        return reply(Rcode.SERVFAIL, { code: EDE.OTHER, text: 'etcd could not be written' });
      }
      if (outcome.kind === 'refused') {
        const v = outcome.verdict;
        const label = v.rcode === Rcode.SERVFAIL ? 'conflict' : v.rcode === Rcode.REFUSED ? 'refused' : 'prerequisite';
        return refuse(true, label, v, EDE.OTHER);
      }
      // Read your write: answer once this replica serves what was committed (bounded).
      if (!(await o.served(outcome.revision))) {
        o.logger.warn({ zone: toPresentation(u.zone), revision: outcome.revision }, 'update committed, but this replica did not serve it in time');
      }
      o.observe(zoneLabel(true), outcome.written > 0 ? 'done' : 'unchanged');
      if (outcome.leased) o.observeLeased(zoneLabel(true), outcome.leased);
      // RFC 9664 §4: the reply says which lease was granted.
      return reply(Rcode.NOERROR, undefined, outcome.lease);
    })();
  };
}
