import { describe, expect, it } from 'vitest';
import { typeCode } from '../dns/constants.js';
import { formatRR } from '../dns/present.js';
import { resolve } from '../resolve/resolve.js';
import { parseZoneFile } from '../sources/zonefile/master-file.js';
import { layerZones } from './layered.js';
import { RecordTable } from './table.js';
import type { ZoneView } from './zone.js';

function zone(text: string): Map<string, ZoneView> {
  const parsed = parseZoneFile(text, { file: 't' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return new Map([[parsed.zone.origin, parsed.zone]]);
}

const FILE = `$ORIGIN shared.test.\n$TTL 60\n@ SOA ns1 hm 7 1 1 1 30\nwww A 192.0.2.1\nalias CNAME www\nonlyfile A 192.0.2.9`;
const ETCD = `$ORIGIN shared.test.\n$TTL 10\n@ SOA ns.dns hostmaster 12345 7200 1800 86400 10
www A 10.0.0.1
www TXT "from etcd"
alias A 10.0.0.2
onlyetcd A 10.0.0.3
cname-in-etcd CNAME www`;

function ask(table: RecordTable, q: string): string[] {
  const [name, type] = q.split(' ') as [string, string];
  const outcome = resolve({ name, type: typeCode(type)! }, table.current);
  if (outcome.kind === 'notours') return ['notours'];
  return [outcome.kind, ...outcome.answer.map(formatRR), ...outcome.authority.map(formatRR)];
}

describe('zone files over etcd for one zone', () => {
  const table = new RecordTable({ sources: ['files', 'etcd'], combine: layerZones });
  table.publish('files', zone(FILE));
  table.publish('etcd', zone(ETCD));

  it.each([
    ['www.shared.test A', ['answer', 'www.shared.test. 60 IN A 192.0.2.1']],
    ['www.shared.test TXT', ['answer', 'www.shared.test. 10 IN TXT "from etcd"']],
    ['alias.shared.test A', ['answer', 'alias.shared.test. 60 IN CNAME www.shared.test.', 'www.shared.test. 60 IN A 192.0.2.1']],
    ['onlyfile.shared.test A', ['answer', 'onlyfile.shared.test. 60 IN A 192.0.2.9']],
    ['onlyetcd.shared.test A', ['answer', 'onlyetcd.shared.test. 10 IN A 10.0.0.3']],
    ['cname-in-etcd.shared.test A', ['answer', 'cname-in-etcd.shared.test. 10 IN CNAME www.shared.test.', 'www.shared.test. 60 IN A 192.0.2.1']],
    ['nothing.shared.test A', ['nxdomain', 'shared.test. 30 IN SOA ns1.shared.test. hm.shared.test. 12352 1 1 1 30']],
  ])('%s', (q, expected) => {
    expect(ask(table, q)).toEqual(expected);
  });

  it('uses the zone file SOA for the zone, its serial the sum of both (so it grows when either changes)', () => {
    expect(ask(table, 'shared.test SOA')).toEqual(['answer', 'shared.test. 60 IN SOA ns1.shared.test. hm.shared.test. 12352 1 1 1 30']);
  });

  it('serves etcd alone once the zone file is gone', () => {
    const t = new RecordTable({ sources: ['files', 'etcd'], combine: layerZones });
    t.publish('files', zone(FILE));
    t.publish('etcd', zone(ETCD));
    t.publish('files', new Map());
    expect(ask(t, 'www.shared.test A')).toEqual(['answer', 'www.shared.test. 10 IN A 10.0.0.1']);
  });
});
