import { Opcode, Rcode } from '../dns/constants.js';
import { questionSection, renderBare } from '../wire/response.js';
import type { Stage } from './request.js';

/**
 * Answers what the decoder could read but not accept (FORMERR, NOTIMP for other opcodes,
 * BADVERS for EDNS versions we do not speak: RFC 1035 §4.1.1, RFC 6891 §6.1.3), echoing the
 * header and the question when it was readable. Every stage after this one sees queries and
 * UPDATEs (RFC 2136) only: the update stage answers those, else the end of the chain (NOTIMP).
 * With `updates` off, a malformed UPDATE gets NOTIMP too: a server that does not take updates
 * says so, whatever the message holds.
 */
export function answerMalformed(o: { readonly updates: boolean }): Stage {
  return (next) => (request) => {
    const d = request.decoded;
    if (d.kind === 'query' || d.kind === 'update') return next(request);
    const rcode = !o.updates && ((d.flags >> 11) & 0xf) === Opcode.UPDATE ? Rcode.NOTIMP : d.rcode;
    request.rcode = rcode;
    return renderBare({
      id: d.id,
      queryFlags: d.flags,
      rcode,
      question: d.question ? questionSection(request.message, d.question) : undefined,
      edns: d.edns,
      advertisedUdpSize: request.advertisedUdpSize,
    });
  };
}
