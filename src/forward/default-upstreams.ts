/**
 * Where names outside every --forward zone go: the --upstream resolvers, or, when none are
 * given, the machine's own from /etc/resolv.conf as any stub resolver would use, minus etcdns
 * itself (a loop; see resolvconf.ts).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { formatHostPort } from '../net.js';
import { upstreamsFromResolvConf, type HostPort } from './resolvconf.js';

const RESOLV_CONF = '/etc/resolv.conf';

export interface DefaultUpstreamsOptions {
  /** --upstream; when empty, resolv.conf is read. */
  readonly configured: readonly HostPort[];
  /** Our own listen addresses: never forwarded to. */
  readonly listen: readonly HostPort[];
  readonly logger: Logger;
  /** The resolv.conf text (the file by default; tests pass their own). */
  readonly readResolvConf?: () => string;
}

/** The default route's upstreams; logs each resolv.conf nameserver left out, and why. */
export function defaultUpstreams(o: DefaultUpstreamsOptions): readonly HostPort[] {
  if (o.configured.length > 0) return o.configured;
  let text = '';
  try {
    text = (o.readResolvConf ?? (() => readFileSync(RESOLV_CONF, 'utf8')))();
  } catch (error) {
    o.logger.warn({ err: error, file: RESOLV_CONF }, 'cannot read resolv.conf for upstreams');
  }
  const found = upstreamsFromResolvConf(text, o.listen);
  for (const s of found.skipped) o.logger.warn({ nameserver: formatHostPort(s.host, s.port), reason: s.reason }, 'not forwarding to this resolv.conf nameserver');
  return found.upstreams;
}
