/**
 * Zone transfers out: AXFR (RFC 5936) for every zone we serve, IXFR (RFC 1995) from the
 * journal of etcd zones, to clients the operator allowed by network (--transfer-allow) or by a
 * TSIG key (RFC 8945, --tsig-key). Every other stage sees one reply per query; this one
 * answers over TCP with a stream of messages that the connection pulls as the client reads.
 */
import { Opcode, RRClass, RRType, Rcode } from '../dns/constants.js';
import { toPresentation, type Name } from '../dns/name.js';
import type { RData, RR, RRset } from '../dns/records.js';
import type { Logger } from '../log.js';
import { LogLimit } from '../log-limit.js';
import type { Snapshot } from '../table/snapshot.js';
import type { ZoneView } from '../table/zone.js';
import type { TransferJournal } from '../transfer/journal.js';
import { axfrSets, oversizeRRsets, soaRecord } from '../transfer/zone-records.js';
import { typeName } from '../dns/constants.js';
import type { ReplyStream } from '../transport/types.js';
import type { Query } from '../wire/query.js';
import { TransferPacker, ixfrRequestSerial } from '../wire/transfer.js';
import { TsigSigner } from '../wire/tsig.js';
import { replyWithoutRecords } from './refuse.js';
import type { Request, Stage } from './request.js';

/** What became of one transfer request, for metrics and logs. */
export type TransferOutcome =
  /** AXFR, or IXFR answered with the whole zone. */
  | 'full'
  /** IXFR answered with differences. */
  | 'incremental'
  /** IXFR from the serial we have: our SOA alone. */
  | 'current'
  /** Not allowed: neither network nor key. */
  | 'refused'
  /** A TSIG that does not verify (unknown key, bad MAC, clock skew): counted by the TSIG stage. */
  | 'bad-tsig'
  /** Not a zone we serve the apex of. */
  | 'not-authoritative'
  /** The zone's data is not servable now (etcd not synced, or stale past --max-stale). */
  | 'unavailable'
  /** Malformed request (IXFR without its SOA), or AXFR over UDP. */
  | 'bad-request'
  /** The client went away, or sending failed, before the end. */
  | 'aborted';

export interface TransferEvent {
  readonly type: 'AXFR' | 'IXFR';
  /** The zone asked for when it is one of ours; undefined for any other name (a label must not take a client's names). */
  readonly zone: Name | undefined;
  readonly outcome: TransferOutcome;
  readonly messages: number;
  readonly records: number;
  readonly bytes: number;
  readonly remoteAddress: string;
  /** The TSIG key the request was signed with. */
  readonly key: Name | undefined;
  /** Why a full transfer was sent for an IXFR, or why the request was refused. */
  readonly detail: string | undefined;
}

export interface TransferStageOptions {
  readonly snapshot: () => Snapshot;
  readonly journal: TransferJournal;
  /** Networks allowed without a key (--transfer-allow). */
  readonly allowedNetworks: { allows(address: string): boolean };
  /** Wall-clock seconds, for the TSIG of each message (RFC 8945 §5.3.1). */
  readonly nowSeconds: () => number;
  readonly logger: Logger;
  readonly unavailableZones?: () => ReadonlySet<Name>;
  readonly observe?: (event: TransferEvent) => void;
}

export function transfer(options: TransferStageOptions): Stage {
  // One "not served" line a second at most: any client can send transfer requests.
  const logLimit = new LogLimit(() => options.nowSeconds() * 1000);
  const warned = new Set<string>();
  const warnOversize = (zone: ZoneView) => {
    for (const set of oversizeRRsets(zone)) {
      const what = `${set.name}/${set.type}`;
      if (warned.has(what)) continue;
      warned.add(what);
      options.logger.warn(
        { zone: toPresentation(zone.origin), name: toPresentation(set.name), type: typeName(set.type), records: set.records.length },
        'left out of zone transfers: an RRset of more than 65535 records, which Knot refuses the zone for (give the zone dns/apex entries)',
      );
    }
  };
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind !== 'query' || (d.query.type !== RRType.AXFR && d.query.type !== RRType.IXFR) || d.query.opcode !== Opcode.QUERY) return next(request);
    return answerTransfer(options, request, d.query, warnOversize, logLimit);
  };
}

function answerTransfer(
  options: TransferStageOptions,
  request: Request,
  query: Query,
  warnOversize: (zone: ZoneView) => void,
  logLimit: LogLimit,
): ReturnType<ReturnType<Stage>> {
  const type = query.type === RRType.AXFR ? 'AXFR' : 'IXFR';
  // A stream reports when it ends, long after `request` went on to other queries (see Request).
  const client = request.remoteAddress;
  const name = query.name;
  const report = (outcome: TransferOutcome, detail?: string, key?: Name, counts = { messages: 1, records: 0, bytes: 0 }) => {
    const ours = options.snapshot().zones.has(name) ? name : undefined;
    options.observe?.({ type, zone: ours, outcome, ...counts, remoteAddress: client, key, detail });
    if (outcome !== 'full' && outcome !== 'incremental' && outcome !== 'current' && logLimit.allow()) {
      options.logger.info({ type, zone: toPresentation(name), client, outcome, detail, suppressed: logLimit.take() }, 'zone transfer not served');
    }
  };

  // A signed request was checked by the TSIG stage, which signs single-message replies; the
  // messages of a transfer are signed here, each MAC chained to the one before (RFC 8945 §5.3.1).
  const key = request.tsig?.key;
  const signer = request.tsig ? new TsigSigner(request.tsig.key, request.tsig.mac, options.nowSeconds) : undefined;
  const sign = (message: Buffer) => (signer ? signer.sign(message) : message);
  const refuse = (rcode: number, outcome: TransferOutcome, detail: string) => {
    report(outcome, detail, key?.name);
    return replyWithoutRecords(request, rcode);
  };

  // RFC 5936 §4.2: AXFR is not defined over UDP. First, whoever asks: the TSIG stage skips
  // these requests (no MAC is checked, so none is needed to be told NOTIMP).
  if (request.transport === 'udp' && type === 'AXFR') return refuse(Rcode.NOTIMP, 'bad-request', 'AXFR over UDP');
  if (!key && !options.allowedNetworks.allows(request.remoteAddress)) {
    return refuse(Rcode.REFUSED, 'refused', 'client not in --transfer-allow and request not signed with a --tsig-key');
  }
  if (query.class !== RRClass.IN) return refuse(Rcode.REFUSED, 'not-authoritative', 'class is not IN');
  const zone = options.snapshot().zones.get(query.name);
  // RFC 5936 §2.2.1: a server not authoritative for the zone answers NOTAUTH.
  if (!zone) return refuse(Rcode.NOTAUTH, 'not-authoritative', 'not the apex of a zone we serve');
  request.zone = zone.origin;
  if (options.unavailableZones?.().has(zone.origin)) return refuse(Rcode.SERVFAIL, 'unavailable', 'etcd data not servable');

  if (request.transport === 'udp') {
    // RFC 1995 §2: an IXFR answer that does not fit in UDP is the SOA alone, which tells the
    // client to come back over TCP (or that it is up to date).
    report('current', 'over UDP: SOA only', key?.name);
    return single(query, request, soaRecord(zone));
  }

  // Over TCP the request is read after this call returns: keep a copy, not a view of the
  // connection's buffer (see Request).
  const own: Query = { ...query, message: Buffer.from(query.message) };
  if (type === 'AXFR') {
    warnOversize(zone);
    return stream(own, request, axfrSets(zone), sign, (outcome, counts) => report(outcome, undefined, key?.name, counts), 'full');
  }
  const serial = ixfrRequestSerial(query);
  if (typeof serial === 'string') return refuse(Rcode.FORMERR, 'bad-request', serial);
  const plan = options.journal.plan(zone.origin, serial) ?? { kind: 'full' as const, zone, reason: 'no journal' };
  const done = (detail?: string) => (outcome: TransferOutcome, counts: Counts) => report(outcome, detail, key?.name, counts);
  switch (plan.kind) {
    case 'current':
      return stream(own, request, [plan.zone.soa], sign, done(), 'current');
    case 'incremental':
      return stream(own, request, ixfrSets(plan.zone, plan.from, plan.deleted, plan.added), sign, done(), 'incremental');
    case 'full':
      warnOversize(plan.zone);
      return stream(own, request, axfrSets(plan.zone), sign, done(plan.reason), 'full');
  }
}

interface Counts {
  messages: number;
  records: number;
  bytes: number;
}

/** One message with one record: the IXFR answer over UDP. */
function single(query: Query, request: Request, rr: RR): Buffer {
  const packer = new TransferPacker(query, { advertisedUdpSize: request.advertisedUdpSize });
  packer.add(rr);
  return packer.finish()!;
}

/**
 * The condensed differences (RFC 1995 §4): our SOA; the client's SOA and what to delete; our
 * SOA and what to add; our SOA. The client's SOA is ours with its serial: only the serial
 * identifies a version.
 */
function* ixfrSets(zone: ZoneView, from: number, deleted: readonly RR[], added: readonly RR[]): Generator<RRset> {
  const soa = zone.soa;
  yield soa;
  yield { ...soa, records: [{ ...soa.records[0]!, serial: from } as RData] };
  for (const rr of deleted) yield oneRecord(rr);
  yield soa;
  for (const rr of added) yield oneRecord(rr);
  yield soa;
}

function oneRecord(rr: RR): RRset {
  return { name: rr.name, type: rr.type, ttl: rr.ttl, records: [rr.data] };
}

function stream(
  query: Query,
  request: Request,
  sets: Iterable<RRset>,
  sign: (message: Buffer) => Buffer,
  done: (outcome: TransferOutcome, counts: Counts) => void,
  outcome: TransferOutcome,
): ReplyStream {
  const udpSize = request.advertisedUdpSize;
  async function* messages(): AsyncGenerator<Uint8Array, void> {
    const packer = new TransferPacker(query, { advertisedUdpSize: udpSize });
    const counts: Counts = { messages: 0, records: 0, bytes: 0 };
    let finished = false;
    try {
      for (const set of sets) {
        for (const data of set.records) {
          const message = packer.addRecord(set.name, set.type, set.ttl, data);
          if (message) {
            const signed = sign(message);
            counts.messages++;
            counts.bytes += signed.length;
            yield signed;
          }
        }
      }
      const last = packer.finish();
      if (last) {
        const signed = sign(last);
        counts.messages++;
        counts.bytes += signed.length;
        yield signed;
      }
      finished = true;
    } finally {
      counts.records = packer.records;
      done(finished ? outcome : 'aborted', counts);
    }
  }
  return { messages: messages() };
}
