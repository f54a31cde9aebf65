import { describe, expect, it } from 'vitest';
import { RRClass, RRType } from '../dns/constants.js';
import type { UpdateRecord } from '../wire/update.js';
import { formatGrant, parseGrant, UpdatePolicy } from './policy.js';

const add = (name: string, type: number): UpdateRecord => ({ name, type, class: RRClass.IN, ttl: 60, rdlength: 4, data: undefined });
const nowhere = { allows: () => false };

describe('parseGrant', () => {
  it('reads KEY KIND NAME [TYPE ...] and writes it back canonical', () => {
    const g = parseGrant('ACME subdomain _acme-challenge.Example.test. txt');
    expect(g).toEqual({ key: 'acme', kind: 'subdomain', name: '_acme-challenge.example.test', types: new Set([RRType.TXT]) });
    expect(formatGrant(g)).toBe('acme. subdomain _acme-challenge.example.test. TXT');
    expect(parseGrant('k name www.example.test').types).toBeUndefined();
  });

  it.each([
    ['k subdomain', /expected KEY/],
    ['k everything example.test', /not name, subdomain or wildcard/],
    ['k wildcard example.test', /names a wildcard/],
    ['k name example.test BOGUS', /"BOGUS" is not a record type/],
    ['k name example.test ANY', /"ANY" is not a record type/],
  ])('refuses %j', (text, error) => {
    expect(() => parseGrant(text)).toThrow(error);
  });
});

describe('UpdatePolicy', () => {
  const policy = new UpdatePolicy(
    [parseGrant('ddns subdomain example.test'), parseGrant('acme name _acme-challenge.example.test TXT'), parseGrant('dhcp wildcard *.hosts.example.test A AAAA')],
    { allows: (address) => address === '127.0.0.1' },
  );

  it('grants a key the names and types of its grants only', () => {
    expect(policy.refusal('ddns', '192.0.2.1', [add('a.b.example.test', RRType.MX), add('example.test', RRType.A)])).toBeUndefined();
    expect(policy.refusal('acme', '192.0.2.1', [add('_acme-challenge.example.test', RRType.TXT)])).toBeUndefined();
    expect(policy.refusal('acme', '192.0.2.1', [add('_acme-challenge.example.test', RRType.A)])).toMatch(/may not change A at _acme-challenge/);
    expect(policy.refusal('acme', '192.0.2.1', [add('x._acme-challenge.example.test', RRType.TXT)])).toMatch(/may not change/);
    expect(policy.refusal('dhcp', '192.0.2.1', [add('pc1.hosts.example.test', RRType.A), add('a.pc2.hosts.example.test', RRType.AAAA)])).toBeUndefined();
    expect(policy.refusal('dhcp', '192.0.2.1', [add('hosts.example.test', RRType.A)])).toMatch(/may not change/);
    expect(policy.refusal('other', '127.0.0.1', [add('www.example.test', RRType.A)])).toMatch(/no --update-policy grant/);
  });

  it('needs a grant of every type to delete every RRset at a name', () => {
    const deleteAll: UpdateRecord = { name: '_acme-challenge.example.test', type: RRType.ANY, class: RRClass.ANY, ttl: 0, rdlength: 0, data: undefined };
    expect(policy.refusal('acme', '192.0.2.1', [deleteAll])).toMatch(/every type/);
    expect(policy.refusal('ddns', '192.0.2.1', [{ ...deleteAll, name: 'www.example.test' }])).toBeUndefined();
  });

  it('takes unsigned updates from --update-allow networks only', () => {
    expect(policy.refusal(undefined, '127.0.0.1', [add('www.example.test', RRType.A)])).toBeUndefined();
    expect(policy.refusal(undefined, '192.0.2.1', [add('www.example.test', RRType.A)])).toMatch(/unsigned/);
    expect(new UpdatePolicy([], nowhere).refusal(undefined, '127.0.0.1', [])).toMatch(/unsigned/);
  });
});
