import { Flag, Rcode } from '../dns/constants.js';
import { questionSection, renderBare } from '../wire/response.js';
import type { Request, Stage } from './request.js';
import type { RateLimitVerdict } from './response-rate-limiter.js';

/**
 * Response rate limiting for UDP (--rate-limit, BIND RRL; see response-rate-limiter.ts).
 * Outermost, so a limited flood costs a decode and nothing more. TCP is never limited: a
 * spoofed source cannot complete a handshake (RFC 7766 §5).
 */
export function rateLimit(limiter: { check(address: string): RateLimitVerdict }): Stage {
  return (next) => (request) => {
    if (request.transport !== 'udp') return next(request);
    const verdict = limiter.check(request.remoteAddress);
    if (verdict === 'send') return next(request);
    if (verdict === 'drop') return null;
    return slip(request);
  };
}

/**
 * A limited query's "slip" reply (BIND RRL): the question only, TC=1, so that a real client
 * retries over TCP; about the size of the query, so useless for amplification.
 */
function slip(request: Request): Buffer {
  const d = request.decoded;
  const question = d.kind === 'query' ? { ...d.query, inline: d.query.nameInline } : d.question;
  const rcode = d.kind === 'error' ? d.rcode : Rcode.NOERROR;
  request.rcode = rcode;
  return renderBare({
    id: d.kind === 'query' ? d.query.id : d.id,
    queryFlags: d.kind === 'query' ? d.query.flags : d.flags,
    rcode,
    question: question ? questionSection(request.message, question) : undefined,
    edns: d.kind === 'query' ? d.query.edns : d.edns,
    advertisedUdpSize: request.advertisedUdpSize,
    extraFlags: Flag.TC,
  });
}
