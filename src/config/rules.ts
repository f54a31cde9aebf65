/**
 * Rules between options, which no single value can break: options that need each other,
 * options without effect given the others, and forwarding that would loop back to us.
 * Checked once, on the whole configuration, after every value has been parsed.
 */
import { isSubdomain } from '../dns/name.js';
import { loopReason } from '../forward/resolvconf.js';
import { formatForwardItem, formatUpstream } from './addresses.js';
import { ConfigError } from './errors.js';
import type { ServeConfig } from './serve-options.js';

/**
 * Throws ConfigError for the first rule broken. Each message names the option the
 * user has to add or change, in its flag form (the same name is the env variable's and the
 * config key's, so the flag is the one spelling that fits every source).
 */
export function checkCombinations(c: ServeConfig): void {
  checkForwarding(c);
  checkRateLimit(c);
  const etcd = c.etcd.length > 0;
  if (etcd && c.etcdZone.length === 0) {
    throw new ConfigError('--etcd needs --etcd-zone: name the zones to answer from etcd (e.g. --etcd-zone example.com)');
  }
  if (!etcd && c.etcdZone.length > 0) {
    throw new ConfigError('--etcd-zone needs --etcd: the etcd endpoints to read the zones from (e.g. --etcd http://127.0.0.1:2379)');
  }
  pair(c.etcdCert, '--etcd-cert', c.etcdKey, '--etcd-key');
  pair(c.etcdUsername, '--etcd-username', c.etcdPassword, '--etcd-password');
  if (!etcd) return;
  // The etcd client (etcd3) refuses a mix outright, and with any TLS file it speaks TLS to
  // every endpoint whatever the scheme says: both are caught here, where the message can
  // name the options, rather than as a connection error at runtime.
  const secure = c.etcd.filter((url) => url.startsWith('https:')).length;
  if (secure > 0 && secure < c.etcd.length) {
    throw new ConfigError('--etcd: endpoints mix http:// and https://; use one scheme for all of them');
  }
  if (secure === 0) {
    for (const [value, flag] of [
      [c.etcdCa, '--etcd-ca'],
      [c.etcdCert, '--etcd-cert'],
      [c.etcdKey, '--etcd-key'],
    ] as const) {
      if (value !== undefined) throw new ConfigError(`${flag} is for TLS, but the --etcd endpoints are http://; use https://`);
    }
  }
}

/** Options that mean something only while forwarding is on. */
const FORWARDING_ONLY = [
  'upstream',
  'forward',
  'forward-policy',
  'forward-timeout',
  'forward-max-fails',
  'forward-health-check',
  'forward-max-concurrent',
  'allow-recursion',
  'cache-entries',
  'cache-bytes',
  'cache-max-ttl',
  'cache-max-negative-ttl',
  'serve-stale',
] as const;

/** Options of the forwarding cache, which --cache-entries 0 turns off. */
const CACHE_ONLY = ['cache-bytes', 'cache-max-ttl', 'cache-max-negative-ttl', 'serve-stale'] as const;

function checkRateLimit(c: ServeConfig): void {
  if (c.rateLimit === 0 && c.explicit.has('rate-limit-slip')) {
    throw new ConfigError('--rate-limit-slip has no effect without --rate-limit (response-rate limiting is off)');
  }
}

function checkForwarding(c: ServeConfig): void {
  if (!c.forwarding) {
    // Set but without effect is most likely a mistake in one of the two (a config file
    // meant for another host, a stale variable): say so instead of ignoring it.
    const set = FORWARDING_ONLY.find((name) => c.explicit.has(name));
    if (set) throw new ConfigError(`--${set} has no effect with --no-forwarding (names outside our zones are refused)`);
    return;
  }
  if (c.allowRecursion.length === 0) {
    throw new ConfigError('--allow-recursion is empty, so no client could use forwarding: list the client networks, or use --no-forwarding');
  }
  if (c.cacheEntries === 0) {
    const set = CACHE_ONLY.find((name) => c.explicit.has(name));
    if (set) throw new ConfigError(`--${set} has no effect with --cache-entries 0 (the cache is off)`);
  }
  // Forwarding to ourselves would send each query round until it timed out, every hop
  // adding another query (what CoreDNS's loop plugin exists for).
  for (const upstream of c.upstream) {
    const loop = loopReason(upstream, c.listen);
    if (loop) throw new ConfigError(`--upstream ${JSON.stringify(formatUpstream(upstream))}: ${loop}`);
  }
  for (const { zone, upstreams } of c.forward) {
    for (const upstream of upstreams) {
      const loop = loopReason(upstream, c.listen);
      if (loop) throw new ConfigError(`--forward ${JSON.stringify(formatForwardItem(zone, upstream))}: ${loop}`);
    }
    // Names in our own zones are answered from our data and never forwarded.
    const ours = c.etcdZone.find((z) => isSubdomain(zone, z));
    if (ours !== undefined) {
      throw new ConfigError(`--forward ${JSON.stringify(zone)}: inside --etcd-zone ${ours}, which etcdns answers itself, so it would never be forwarded`);
    }
  }
}

/** Options that only make sense together: naming the one that is missing. */
function pair(a: unknown, aFlag: string, b: unknown, bFlag: string): void {
  if (a !== undefined && b === undefined) throw new ConfigError(`${aFlag} needs ${bFlag}`);
  if (b !== undefined && a === undefined) throw new ConfigError(`${bFlag} needs ${aFlag}`);
}
