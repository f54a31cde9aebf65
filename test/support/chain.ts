/**
 * The handler chain as the composition root (src/app.ts) assembles it, for tests that answer
 * queries in process. Each option adds the stage app.ts adds for the same setting.
 */
import { authoritative } from '../../src/chain/authoritative.js';
import { chaos as chaosStage, type ChaosNames } from '../../src/chain/chaos.js';
import { forward, recursionAvailable, type RecursionPolicy, type Upstream } from '../../src/chain/forward.js';
import { answerMalformed } from '../../src/chain/malformed.js';
import { createPipeline } from '../../src/chain/pipeline.js';
import { rateLimit as rateLimitStage } from '../../src/chain/rate-limit.js';
import { refuse } from '../../src/chain/refuse.js';
import { ReplyCache } from '../../src/chain/reply-cache.js';
import type { QueryObserver, Stage } from '../../src/chain/request.js';
import type { RateLimitVerdict } from '../../src/chain/response-rate-limiter.js';
import type { Name } from '../../src/dns/name.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Snapshot } from '../../src/table/snapshot.js';
import type { QueryHandler } from '../../src/transport/types.js';

export interface TestChainOptions {
  snapshot: () => Snapshot;
  chaos?: ChaosNames;
  rateLimit?: { check(address: string): RateLimitVerdict };
  recursion?: RecursionPolicy & Upstream;
  unavailableZones?: () => ReadonlySet<Name>;
  observers?: QueryObserver[];
  cache?: ReplyCache;
  logger?: Logger;
  /** Stages to add right before the authoritative one (e.g. the one under test). */
  extraStages?: Stage[];
  ednsUdpSize?: number;
}

export function testChain(o: TestChainOptions): QueryHandler {
  const logger = o.logger ?? silentLogger();
  const stages: Stage[] = [
    ...(o.rateLimit ? [rateLimitStage(o.rateLimit)] : []),
    answerMalformed,
    ...(o.recursion ? [recursionAvailable(o.recursion)] : []),
    ...(o.chaos ? [chaosStage(o.chaos)] : []),
    ...(o.extraStages ?? []),
    authoritative({ snapshot: o.snapshot, cache: o.cache ?? new ReplyCache(), logger, now: () => performance.now(), unavailableZones: o.unavailableZones }),
    ...(o.recursion ? [forward(o.recursion, o.recursion)] : []),
  ];
  return createPipeline({ stages, last: refuse, observers: o.observers, advertisedUdpSize: o.ednsUdpSize ?? 1232 });
}
