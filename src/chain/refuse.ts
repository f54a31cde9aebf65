import { RRClass, RRType, Rcode, isMetaType } from '../dns/constants.js';
import { questionSection, renderBare, renderRcode } from '../wire/response.js';
import type { Handler, Request } from './request.js';

/**
 * The end of the chain: what no stage answered gets no records. REFUSED for names and
 * classes we do not serve (RFC 1035 §4.1.1), and for a zone transfer no stage took (the
 * transfer stage answers every AXFR and IXFR in the server's chain);
 * FORMERR for an OPT question (RFC 6891 §6.1.1); NOTIMP for the other meta types, and for
 * UPDATEs when updates are not enabled.
 */
export const refuse: Handler = (request) => {
  const d = request.decoded;
  // An UPDATE no stage took: this server does not do updates (RFC 2136 §3.8 lists NOTIMP).
  if (d.kind === 'update') {
    return renderBare({ id: d.id, queryFlags: d.flags, rcode: Rcode.NOTIMP, question: questionSection(request.message, d.question), edns: d.edns, advertisedUdpSize: request.advertisedUdpSize });
  }
  return replyWithoutRecords(request, refusalFor(request));
};

/** An rcode-only reply to a query: header, the question as the client sent it, OPT. */
export function replyWithoutRecords(request: Request, rcode: number): Buffer {
  const d = request.decoded;
  if (d.kind !== 'query') throw new Error('replyWithoutRecords: not a query (the malformed stage answers those)');
  return renderRcode(d.query, rcode, request.advertisedUdpSize, request.extraFlags);
}

function refusalFor(request: Request): number {
  if (request.decoded.kind !== 'query') return Rcode.FORMERR;
  const query = request.decoded.query;
  if (query.class !== RRClass.IN && query.class !== RRClass.CH) return Rcode.REFUSED;
  if (query.type === RRType.OPT) return Rcode.FORMERR;
  if (query.type === RRType.AXFR || query.type === RRType.IXFR) return Rcode.REFUSED;
  if (isMetaType(query.type) && query.type !== RRType.ANY) return Rcode.NOTIMP;
  return Rcode.REFUSED;
}
