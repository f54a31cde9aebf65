import { describe, expect, it } from 'vitest';
import { describeBindError, formatHostPort, redactUrlCredentials } from './net.js';

describe('formatHostPort', () => {
  it.each([
    ['127.0.0.1', 53, '127.0.0.1:53'],
    ['::1', 53, '[::1]:53'],
    ['2001:db8::1', 8443, '[2001:db8::1]:8443'],
    ['fe80::1%eth0', 53, '[fe80::1%eth0]:53'],
    ['backend.example.test', 443, 'backend.example.test:443'],
  ])('%s port %d is %s (IPv6 in brackets, RFC 3986 §3.2.2)', (host, port, text) => {
    expect(formatHostPort(host, port)).toBe(text);
  });
});

describe('describeBindError', () => {
  it('words the common errno codes for an operator, else shows the cause', () => {
    expect(describeBindError('EADDRINUSE', new Error('x'))).toBe('address already in use (EADDRINUSE)');
    expect(describeBindError('EACCES', new Error('x'))).toMatch(/^permission denied \(EACCES; ports below 1024/);
    expect(describeBindError('EADDRNOTAVAIL', new Error('x'))).toBe('address not available on this host (EADDRNOTAVAIL)');
    expect(describeBindError('EINVAL', new Error('bind EINVAL'))).toBe('bind EINVAL');
    expect(describeBindError(undefined, 'odd')).toBe('odd');
  });
});

describe('redactUrlCredentials', () => {
  it('replaces the user information of every URL in the text, valid or not', () => {
    expect(redactUrlCredentials('http://root:secret@10.0.0.1:2379')).toBe('http://[redacted]@10.0.0.1:2379');
    expect(redactUrlCredentials('"https://token@etcd:2379" and http://a:b@c:1/x')).toBe('"https://[redacted]@etcd:2379" and http://[redacted]@c:1/x');
    expect(redactUrlCredentials('http://u:p%40ss@[::1')).toBe('http://[redacted]@[::1');
    // A password with an @ in it, not escaped: up to the last @ before the host.
    expect(redactUrlCredentials('http://u:p@ss@host:1')).toBe('http://[redacted]@host:1');
    expect(redactUrlCredentials('http://127.0.0.1:2379 user@example.test')).toBe('http://127.0.0.1:2379 user@example.test');
  });
});
