/**
 * The handler chain's one definition: which stages run, in which order. The server
 * (src/app.ts), the warm-up chain and the in-process test chain (test/support/chain.ts) all
 * build their chains here, so a stage is tested in the position production runs it in, and a
 * new stage is one entry in STAGES.
 */
import type { QueryHandler } from '../transport/types.js';
import { authoritative, type AuthoritativeOptions } from './authoritative.js';
import { chaos, type ChaosNames } from './chaos.js';
import { forward, recursionAvailable, type RecursionPolicy, type Upstream } from './forward.js';
import { answerMalformed } from './malformed.js';
import { nsid } from './nsid.js';
import { createPipeline } from './pipeline.js';
import { rateLimit } from './rate-limit.js';
import { refuse } from './refuse.js';
import type { QueryObserver, Stage } from './request.js';
import type { RateLimitVerdict } from './response-rate-limiter.js';
import { spreadLoad } from './spread.js';
import { transfer, type TransferStageOptions } from './transfer.js';
import { tsig, type TsigStageOptions } from './tsig.js';
import { update, type UpdateStageOptions } from './update.js';

/** What a chain is made of: each part that is present adds its stage; absent ones add none. */
export interface ChainParts {
  /** --rate-limit (response rate limiting, UDP only). */
  readonly rateLimiter?: { check(address: string): RateLimitVerdict };
  /** --tsig-key, --tsig-key-file: verify and sign (RFC 8945). */
  readonly tsig?: TsigStageOptions;
  /** --update-policy, --update-allow with --etcd: DNS UPDATE (RFC 2136) of etcd zones. */
  readonly update?: UpdateStageOptions;
  /** --nsid: the identifier returned to clients that ask (RFC 5001). */
  readonly nsid?: Uint8Array;
  /** Forwarding: who may recurse (RA on their replies), and where their questions go. */
  readonly recursion?: { readonly policy: RecursionPolicy; readonly upstream: Upstream };
  /** --chaos: the CH TXT names answered. */
  readonly chaos?: ChaosNames;
  /** --rotate on: the random source of the shuffle (Math.random in production). */
  readonly spread?: { readonly random: () => number };
  /** Our zones; always present. */
  readonly authoritative: AuthoritativeOptions;
  /** Zone transfers out (AXFR, IXFR). */
  readonly transfer?: TransferStageOptions;
}

/**
 * The stages, outermost first (see chain/request.ts for what a stage is). The order matters:
 * - rate limiting first, so a limited flood costs one decode and nothing more;
 * - TSIG outside every stage that changes a reply: the signature covers the final bytes;
 * - UPDATE inside TSIG (which verifies the signer it checks and signs its replies), before every
 *   stage that answers queries; without it, an UPDATE reaches the end (NOTIMP);
 * - NSID outside the stages that answer, as it adds an option to whatever they answer;
 * - RA is set before any stage answers, so every reply to a recursing client carries it;
 * - the authoritative stage answers every name in our zones and passes only meta types (to the
 *   transfer stage) and names outside them (to the forwarder) on; REFUSED comes last.
 */
const STAGES = [
  ['rate-limit', (p) => p.rateLimiter && rateLimit(p.rateLimiter)],
  ['malformed', (p) => answerMalformed({ updates: p.update !== undefined })],
  ['tsig', (p) => p.tsig && tsig(p.tsig)],
  ['update', (p) => p.update && update(p.update)],
  ['nsid', (p) => p.nsid && nsid(p.nsid)],
  ['recursion-available', (p) => p.recursion && recursionAvailable(p.recursion.policy)],
  ['chaos', (p) => p.chaos && chaos(p.chaos)],
  ['spread', (p) => p.spread && spreadLoad(p.spread.random)],
  ['authoritative', (p) => authoritative(p.authoritative)],
  ['transfer', (p) => p.transfer && transfer(p.transfer)],
  ['forward', (p) => p.recursion && forward(p.recursion.upstream, p.recursion.policy)],
] as const satisfies readonly (readonly [string, (parts: ChainParts) => Stage | undefined])[];

export type StageName = (typeof STAGES)[number][0];

/** The names of the stages `parts` makes, in chain order (for tests and diagnostics). */
export function stageNames(parts: ChainParts): StageName[] {
  return chainStages(parts).map((s) => s.name);
}

function chainStages(parts: ChainParts): { name: StageName; stage: Stage }[] {
  const out: { name: StageName; stage: Stage }[] = [];
  for (const [name, make] of STAGES) {
    const stage = (make as (parts: ChainParts) => Stage | undefined)(parts);
    if (stage) out.push({ name, stage });
  }
  return out;
}

export interface ChainOptions {
  /** Told of every reply sent (metrics, the query log). */
  readonly observers?: readonly QueryObserver[];
  /** --edns-udp-size. */
  readonly advertisedUdpSize: number;
}

/** The transport's query handler: the stages of `parts`, then REFUSED. */
export function buildChain(parts: ChainParts, options: ChainOptions): QueryHandler {
  return createPipeline({ stages: chainStages(parts).map((s) => s.stage), last: refuse, ...options });
}
