import { withNsid } from '../wire/nsid.js';
import type { Stage } from './request.js';

/**
 * --nsid: answers the NSID option (RFC 5001) with this replica's identifier on every reply
 * to a query that asked for it (`dig +nsid`), forwarded answers included; queries that did
 * not ask get nothing extra (RFC 5001 §2.1: only on request).
 */
export function nsid(identifier: Uint8Array): Stage {
  return (next) => (request) => {
    const d = request.decoded;
    const asked = d.kind === 'query' ? d.query.edns?.nsid : d.edns?.nsid;
    const reply = next(request);
    if (!asked) return reply;
    const maxSize = request.maxSize;
    if (reply instanceof Promise) return reply.then((bytes) => bytes && withNsid(bytes, identifier, maxSize));
    // A zone transfer's messages go out as they are (RFC 5001 names no multi-message reply).
    return reply instanceof Uint8Array ? withNsid(reply, identifier, maxSize) : reply;
  };
}
