export { Forwarder } from './forwarder.js';
export { cacheKey, cacheTtlSeconds, FAILURE_RECHECK_MS, ReplyCache, type CacheEntry, type FetchResult, type Lookup } from './cache.js';
export { UpstreamClient, type ExchangeResult } from './client.js';
export { UpstreamPool, type PoolResult } from './pool.js';
export { upstreamLabel, type ForwardCacheOptions, type ForwarderOptions, type ForwardObserver, type ForwardPolicy, type ForwardRoute, type Upstream, type UpstreamEvent } from './types.js';
