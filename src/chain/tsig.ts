/**
 * TSIG (RFC 8945) on every query and UPDATE, not only transfers: a secondary checks the zone's SOA with
 * a signed query before it transfers, and a signed query must get a signed answer (§5.3) or a
 * TSIG error (§5.2). A request signed with one of our keys goes on with `request.tsig` set and
 * room left in the reply for the signature; its reply is signed here. A multi-message reply
 * (a zone transfer) signs its own messages, since each MAC covers the one before it.
 */
import { Opcode, RRType, Rcode } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { TsigKey } from '../dns/tsig-key.js';
import { MAX_FUDGE_SECONDS, TsigSigner, checkRequest, mayCarryTsig, tsigErrorReply, tsigLength, type TsigCheck } from '../wire/tsig.js';
import { questionSection, renderBare } from '../wire/response.js';
import { replyWithoutRecords } from './refuse.js';
import type { Handler, Request, Stage } from './request.js';
import { TsigReplayCache } from './tsig-replay.js';

export interface TsigStageOptions {
  /** Keys by name (--tsig-key, --tsig-key-file). */
  readonly keys: ReadonlyMap<Name, TsigKey>;
  /** Wall-clock seconds: TSIG times are absolute (RFC 8945 §5.2.3). */
  readonly nowSeconds: () => number;
  /** A request whose TSIG did not verify (answered NOTAUTH or FORMERR). */
  readonly onInvalid?: (request: Request, check: Extract<TsigCheck, { kind: 'invalid' }>) => void;
}

/**
 * Requests whose replay matters: a zone transfer (a copy of the zone for whoever captured the
 * request) and UPDATE (opcode 5, RFC 2136: a change applied twice).
 */
function needsReplayCheck(type: number, opcode: number): boolean {
  return type === RRType.AXFR || type === RRType.IXFR || opcode === Opcode.UPDATE;
}

export function tsig(options: TsigStageOptions): Stage {
  const { keys, nowSeconds } = options;
  // A signature is accepted within MAX_FUDGE_SECONDS either side of its time: remember accepted
  // transfer requests that long (RFC 8945 §10).
  const replays = new TsigReplayCache({ windowSeconds: MAX_FUDGE_SECONDS });
  return (next) => (request) => {
    const d = request.decoded;
    // An UPDATE (RFC 2136) is always checked, and always for replay: a change applied twice.
    if (d.kind === 'update') return signed(request, next, true);
    if (d.kind !== 'query' || !mayCarryTsig(request.message, d.query.edns !== undefined)) return next(request);
    // AXFR is not defined over UDP (RFC 5936 §4.2): the transfer stage refuses it whatever the
    // signature, so no MAC is computed for it. A UDP source can be forged at no cost, and a
    // flood of such requests would otherwise cost an HMAC and a log line each.
    if (request.transport === 'udp' && d.query.type === RRType.AXFR) return next(request);
    return signed(request, next, needsReplayCheck(d.query.type, d.query.opcode));
  };

  /** A request that may be signed: verified (and checked for replay), its reply signed with its key. */
  function signed(request: Request, next: Handler, replayCheck: boolean): ReturnType<Handler> {
    const now = nowSeconds();
    const check = checkRequest(request.message, keys, now);
    if (check.kind === 'none') return next(request);
    if (check.kind === 'invalid') {
      options.onInvalid?.(request, check);
      return tsigErrorReply(notAuth(request), check, now);
    }
    if (replayCheck && !replays.accept(check.record.mac, check.record.timeSigned, now)) {
      const replayed = { kind: 'invalid' as const, error: 'BADTIME' as const, record: check.record, key: check.key, reason: 'replayed request (this MAC was accepted before)' };
      options.onInvalid?.(request, replayed);
      return tsigErrorReply(notAuth(request), replayed, now);
    }
    const key = check.key;
    // The MAC is a view into the request bytes, which the transport reuses: keep a copy.
    const mac = Buffer.from(check.record.mac);
    request.tsig = { key, mac };
    // The reply must fit with its signature (over UDP, the client's size).
    request.reserve(tsigLength(key));
    const reply = next(request);
    const signer = new TsigSigner(key, mac, nowSeconds);
    if (reply instanceof Promise) return reply.then((bytes) => bytes && signer.sign(bytes));
    if (reply instanceof Uint8Array) return signer.sign(reply);
    return reply;
  }
}

/** The unsigned NOTAUTH a bad signature gets (RFC 8945 §5.2), to a query or an UPDATE. */
function notAuth(request: Request): Buffer {
  const d = request.decoded;
  if (d.kind !== 'update') return replyWithoutRecords(request, Rcode.NOTAUTH);
  return renderBare({ id: d.id, queryFlags: d.flags, rcode: Rcode.NOTAUTH, question: questionSection(request.message, d.question), edns: d.edns, advertisedUdpSize: request.advertisedUdpSize });
}
