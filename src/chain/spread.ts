import { spreadRendered } from '../wire/response.js';
import type { Stage } from './request.js';

/**
 * --rotate (on by default): load spreading over the records we answer from our zones.
 * A/AAAA RRsets rotate one step per query (round robin per RRset in this process, glue in
 * the additional section included), and SRV records are ordered per query by priority and
 * RFC 2782 weighted random selection, so that clients that take the first record spread
 * over the instances (see wire/spread.ts). Placed before the authoritative stage: it patches
 * the reply rendered from the cached template in place, with no re-encoding.
 */
export function spreadLoad(random: () => number = Math.random): Stage {
  return (next) => (request) => {
    const reply = next(request);
    const template = request.template;
    if (template?.spreading && reply instanceof Buffer) spreadRendered(reply, template, random);
    return reply;
  };
}
