/**
 * The options of DNS UPDATE (RFC 2136): who may update (grants per TSIG key, or networks for
 * local development) and the bounds of an Update Lease (RFC 9664). Part of SERVE_OPTIONS.
 */
import { formatGrant, parseGrant } from '../update/policy.js';
import { parseAllowedNetwork } from './addresses.js';
import { ValueError } from './errors.js';
import { durationOption, listOption } from './option-spec.js';

export const UPDATE_OPTIONS = [
  listOption({
    name: 'update-policy',
    key: 'updatePolicy',
    description:
      'Grant a TSIG key DNS UPDATE (RFC 2136) of etcd zones, as "KEY name|subdomain|wildcard NAME [TYPE ...]" (BIND update-policy style; no types: every type UPDATE writes); repeat the flag. Default: no updates.',
    placeholder: 'GRANT',
    default: [],
    item: (text) => {
      try {
        return parseGrant(text);
      } catch (err) {
        throw new ValueError(err instanceof Error ? err.message : String(err), text);
      }
    },
    identity: formatGrant,
  }),
  listOption({
    name: 'update-allow',
    key: 'updateAllow',
    description: 'Client networks (CIDR) whose unsigned DNS UPDATEs are taken, for any name of an etcd zone: local development only; repeat the flag or separate with commas. Default: none.',
    placeholder: 'CIDR',
    default: [],
    item: parseAllowedNetwork,
    identity: (cidr) => cidr,
  }),
  durationOption({
    name: 'update-lease-min',
    key: 'updateLeaseMinMs',
    description: 'Shortest Update Lease (RFC 9664) granted: records an UPDATE adds with a shorter lease get this one (etcd\'s own minimum is a few seconds).',
    default: '5s',
    min: '2s',
    max: '24h',
    wholeSeconds: true,
  }),
  durationOption({
    name: 'update-lease-max',
    key: 'updateLeaseMaxMs',
    description: 'Longest Update Lease (RFC 9664) granted: records an UPDATE adds with a longer lease get this one.',
    default: '24h',
    min: '2s',
    max: '168h',
    wholeSeconds: true,
  }),
] as const;
