import { isIPv6 } from 'node:net';
import { errorMessage } from './errors.js';

/** Where a server listens: the --listen values, and what the DNS transport binds. */
export interface ListenAddress {
  /** An IP literal, without brackets: '127.0.0.1', '::1', '0.0.0.0', '::'. */
  readonly host: string;
  /** 0 asks the OS for a free port (the same one is then used for UDP and TCP). */
  readonly port: number;
}

/** `host:port`, with IPv6 hosts in brackets (RFC 3986 §3.2.2), as flags and logs write it. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What a failed bind means, in words an operator can act on. */
export function describeBindError(code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use (EADDRINUSE)';
    case 'EACCES':
      return 'permission denied (EACCES; ports below 1024 need privileges such as CAP_NET_BIND_SERVICE)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host (EADDRNOTAVAIL)';
    default:
      return errorMessage(cause);
  }
}

/**
 * `text` with the user information of any URL in it (`scheme://user:password@host`) replaced by
 * `[redacted]`: for error messages and logs that quote what the user wrote, which may carry a
 * password (`--etcd http://root:secret@10.0.0.1:2379`). Works on text that is not a valid URL.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s"]*@/gi, '$1[redacted]@');
}
