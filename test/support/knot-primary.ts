/**
 * Knot DNS as a primary that takes DNS UPDATE (RFC 2136): the reference a test compares
 * etcdns's UPDATE handling with, step by step. Zones come from zone files written to its own
 * temp dir; updates are allowed with one TSIG key (`acl: action: update`) and kept in Knot's
 * journal. Stopped by its PID (runDaemon).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig } from './dig.js';
import { findTool, freeUdpTcpPort, knotConfHead, runDaemon, type Tsig } from './secondaries.js';

const KNOTD = findTool('knotd');

export interface KnotPrimary {
  readonly port: number;
  stop(): Promise<void>;
}

/** A second key Knot lets update one name and some types only (ACL `update-owner`, `update-type`). */
export interface RestrictedKey {
  readonly key: Tsig;
  readonly name: string;
  readonly types: readonly string[];
}

/** Starts knotd with `zones` (origin → zone-file text) on a free loopback port; resolves once it answers. */
export async function startKnotPrimary(zones: Record<string, string>, key: Tsig, restricted?: RestrictedKey): Promise<KnotPrimary> {
  if (!KNOTD) throw new Error('knotd not found: apt-get install knot');
  const dir = mkdtempSync(join(tmpdir(), 'etcdns-knot-primary-'));
  for (const d of ['run', 'storage', 'zones']) mkdirSync(join(dir, d));
  for (const [origin, text] of Object.entries(zones)) writeFileSync(join(dir, 'zones', `${origin}.zone`), text);
  const port = await freeUdpTcpPort();
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `${knotConfHead(dir, port)}key:
  - id: ${key.name}
    algorithm: ${key.algorithm}
    secret: ${key.secret}
${restricted ? `  - id: ${restricted.key.name}\n    algorithm: ${restricted.key.algorithm}\n    secret: ${restricted.key.secret}\n` : ''}acl:
  - id: update
    key: ${key.name}
    action: update
${
  restricted
    ? `  - id: restricted
    key: ${restricted.key.name}
    action: update
    update-type: [${restricted.types.join(', ')}]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [${restricted.name}.]
`
    : ''
}template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    acl: [update${restricted ? ', restricted' : ''}]
    # Updates live in the journal; the zone file is never rewritten.
    zonefile-sync: -1
    journal-content: changes
zone:
${Object.keys(zones)
  .map((z) => `  - domain: ${z}\n`)
  .join('')}`,
  );
  const daemon = runDaemon(KNOTD, ['-c', conf]);
  const first = Object.keys(zones)[0]!;
  const started = Date.now();
  for (;;) {
    if (daemon.exited()) throw new Error(`knotd exited; output:\n${daemon.output()}`);
    const r = await dig(port, [first, 'SOA', '+time=1']).catch(() => undefined);
    if (r?.status === 'NOERROR') break;
    if (Date.now() - started > 10_000) throw new Error(`knotd did not serve ${first} within 10 s; output:\n${daemon.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
