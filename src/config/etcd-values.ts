/**
 * What the etcd options take: endpoint URLs (--etcd), the key prefix (--etcd-prefix) and the
 * zones answered from etcd (--etcd-zone).
 */
import { parseName, type Name } from '../dns/name.js';
import { ValueError } from './errors.js';

const ETCD_URL_EXAMPLE = 'e.g. http://127.0.0.1:2379';

/**
 * An etcd endpoint, `http://HOST:PORT` or `https://HOST:PORT`, returned as exactly that
 * (host lower-cased, IPv6 in brackets): the etcd client strips the scheme and hands
 * `HOST:PORT` to gRPC, so anything else in the URL would be silently ignored or misread.
 */
export function parseEtcdUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError(`not a URL (${ETCD_URL_EXAMPLE})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValueError(`must start with http:// or https:// (${ETCD_URL_EXAMPLE})`);
  if (url.username !== '' || url.password !== '') {
    throw new ValueError('must not contain a user or password (use --etcd-username and --etcd-password)');
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new ValueError('must not have a path, query or fragment (only scheme, host and port)');
  // URL drops a port equal to the scheme's default (http://x:80 → port ''), so an explicit
  // port is looked for in the text itself. Without one, gRPC would pick 443 for both schemes,
  // which is etcd's port for nothing: refuse rather than guess.
  const written = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i.exec(text);
  if (!written) throw new ValueError('missing port (etcd clients usually connect to 2379, e.g. http://127.0.0.1:2379)');
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return `${url.protocol}//${url.hostname}:${port}`;
}

/** `/skydns`: starts with '/', no trailing '/', no empty segment. */
export function checkEtcdPrefix(text: string): void {
  if (!text.startsWith('/')) throw new ValueError('must start with "/" (e.g. /skydns)');
  // Keys are `prefix/com/example/...`: a trailing '/' would make that `prefix//com/...`, and
  // the bare root '/' would take every key in etcd as DNS data.
  if (text.endsWith('/')) throw new ValueError('must not end with "/" (e.g. /skydns)');
  if (text.includes('//')) throw new ValueError('must not contain an empty segment ("//")');
}

/** A zone served from etcd, canonical (see dns/name.ts). */
export function parseEtcdZone(text: string): Name {
  const parsed = parseName(text);
  if ('error' in parsed) throw new ValueError(parsed.error);
  // Authoritative for the root would make etcdns answer NXDOMAIN for every name on the
  // internet it does not hold (CoreDNS issue 3316 shows how `etcd .` goes wrong).
  if (parsed.name === '') throw new ValueError('the root zone cannot be served from etcd');
  return parsed.name;
}
