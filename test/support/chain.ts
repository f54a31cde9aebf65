/**
 * The handler chain for tests that answer queries in process, built by the same function as
 * the server's (src/chain/stages.ts): each option is a part of the chain, and its stage runs in
 * the position production runs it in.
 */
import type { ChaosNames } from '../../src/chain/chaos.js';
import type { RecursionPolicy, Upstream } from '../../src/chain/forward.js';
import { ReplyCache } from '../../src/chain/reply-cache.js';
import type { QueryObserver } from '../../src/chain/request.js';
import type { RateLimitVerdict } from '../../src/chain/response-rate-limiter.js';
import { buildChain, type ChainParts } from '../../src/chain/stages.js';
import type { TransferStageOptions } from '../../src/chain/transfer.js';
import type { TsigStageOptions } from '../../src/chain/tsig.js';
import type { UpdateStageOptions } from '../../src/chain/update.js';
import type { Name } from '../../src/dns/name.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Snapshot } from '../../src/table/snapshot.js';
import type { QueryHandler } from '../../src/transport/types.js';

export interface TestChainOptions {
  snapshot: () => Snapshot;
  chaos?: ChaosNames;
  rateLimit?: { check(address: string): RateLimitVerdict };
  recursion?: RecursionPolicy & Upstream;
  tsig?: TsigStageOptions;
  update?: UpdateStageOptions;
  nsid?: Uint8Array;
  /** --rotate on, with this random source. */
  spread?: () => number;
  transfer?: TransferStageOptions;
  unavailableZones?: () => ReadonlySet<Name>;
  observers?: QueryObserver[];
  cache?: ReplyCache;
  logger?: Logger;
  ednsUdpSize?: number;
}

/** The chain parts of `o` (exported for the test that compares them with production's). */
export function testChainParts(o: TestChainOptions): ChainParts {
  return {
    rateLimiter: o.rateLimit,
    tsig: o.tsig,
    update: o.update,
    nsid: o.nsid,
    recursion: o.recursion && { policy: o.recursion, upstream: o.recursion },
    chaos: o.chaos,
    spread: o.spread && { random: o.spread },
    authoritative: { snapshot: o.snapshot, cache: o.cache ?? new ReplyCache(), logger: o.logger ?? silentLogger(), now: () => performance.now(), unavailableZones: o.unavailableZones },
    transfer: o.transfer,
  };
}

export function testChain(o: TestChainOptions): QueryHandler {
  return buildChain(testChainParts(o), { observers: o.observers, advertisedUdpSize: o.ednsUdpSize ?? 1232 });
}
