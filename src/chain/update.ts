/**
 * The DNS UPDATE stage (RFC 2136): answers every UPDATE. Checks, in order:
 * 1. the zone is one of our etcd zones (NOTAUTH otherwise, RFC 2136 §3.1.2; REFUSED for a
 *    zone only a zone file defines, whose records are the file's);
 * 2. permission (REFUSED, §3.3): the signer's policy grants every change within the zone, and
 *    in a layered zone none touches an RRset the zone file defines (update/file-layer.ts);
 * 3. then the writer reads etcd, checks the prerequisites (§3.2, their own RCODEs), the update
 *    section's form (§3.4.1: FORMERR, NOTZONE) and commits (src/update/writer.ts).
 * Permission before prerequisites, as Knot DNS and BIND's named both do: a requestor without
 * permission learns nothing of the zone from its prerequisites. Prerequisites before the form
 * of the update section, as RFC 2136 §3 orders them and Knot answers (test/update.test.ts).
 * The reply goes out once this replica serves the revision written, so that a query right
 * after sees the change. Sits inside the TSIG stage, which verified the request
 * (`request.tsig`) and signs the reply.
 */
import { RRClass, Rcode } from '../dns/constants.js';
import { isSubdomain, toPresentation, type Name } from '../dns/name.js';
import type { Logger } from '../log.js';
import { fileLayerRefusal, type FileLayer } from '../update/file-layer.js';
import { UpdateRcode, prescan, type Verdict, type ZoneRules } from '../update/semantics.js';
import type { WriteOutcome } from '../update/writer.js';
import type { UpdateLease, UpdateMessage, UpdateRecord } from '../wire/update.js';
import { renderUpdateReply } from '../wire/update.js';
import { questionSection } from '../wire/response.js';
import type { Stage } from './request.js';

/** RFC 8914 §4 info codes. */
const EDE = { OTHER: 0, PROHIBITED: 18, NOT_AUTHORITATIVE: 20, NOT_SUPPORTED: 21 } as const;

export interface UpdateStageOptions {
  /** Whether `origin` is an etcd zone ('etcd', perhaps layered with a zone file), a zone only a zone file defines ('file'), or none of ours. */
  zoneKind(origin: Name): 'etcd' | 'file' | undefined;
  /** The zone file of a layered zone (an etcd zone that also has one); undefined for a zone without. */
  fileLayer(origin: Name): FileLayer | undefined;
  /** Why the signer (`key`, undefined: unsigned) at `address` may not make these changes; undefined: it may. */
  refusal(key: Name | undefined, address: string, updates: readonly UpdateRecord[]): string | undefined;
  /** Why a record to add cannot be stored in the zone; undefined when it can. */
  unstorable(zone: Name, rr: UpdateRecord): string | undefined;
  write(zone: Name, update: UpdateMessage, rules: ZoneRules): Promise<WriteOutcome>;
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
    // Records outside the zone are no change a key could be granted: NOTZONE, after the prerequisites.
    const denied = o.refusal(key, client, u.updates.filter((rr) => isSubdomain(rr.name, u.zone)));
    if (denied) return refuse(true, 'refused', { rcode: Rcode.REFUSED, reason: denied }, EDE.PROHIBITED);
    const file = o.fileLayer(u.zone);
    const fileOwned = file && fileLayerRefusal(u.zone, file, u.updates);
    if (fileOwned) return refuse(true, 'refused', fileOwned, EDE.PROHIBITED);
    const rules: ZoneRules = { prescan: (updates) => prescan(u.zone, updates, (rr) => o.unstorable(u.zone, rr)), file };

    return (async () => {
      let outcome: WriteOutcome;
      try {
        outcome = await o.write(u.zone, u, rules);
      } catch (err) {
        o.observe(zoneLabel(true), 'failed');
        o.logger.warn({ zone: toPresentation(u.zone), client, err }, 'update failed: etcd');
        return reply(Rcode.SERVFAIL, { code: EDE.OTHER, text: 'etcd could not be written' });
      }
      if (outcome.kind === 'refused') {
        const v = outcome.verdict;
        if (v.rcode === Rcode.REFUSED) return refuse(true, 'refused', v, EDE.NOT_SUPPORTED);
        const malformed = v.rcode === Rcode.FORMERR || v.rcode === UpdateRcode.NOTZONE;
        return refuse(true, v.rcode === Rcode.SERVFAIL ? 'conflict' : malformed ? 'bad-request' : 'prerequisite', v, EDE.OTHER);
      }
      // When etcd committed it, as far as this replica knows (test/update.test.ts times the other replicas from it).
      o.logger.debug({ zone: toPresentation(u.zone), revision: outcome.revision }, 'update committed');
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
