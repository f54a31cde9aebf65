/**
 * The chain the server runs and the chain the in-process tests run (test/support/chain.ts) are
 * built by one function (chain/stages.ts): these tests fail if their orders ever differ, or if
 * a stage exists that no configuration turns on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testChainParts, type TestChainOptions } from '../../test/support/chain.js';
import { loadConfig } from '../../test/support/config.js';
import { stageNames, type StageName } from '../chain/stages.js';
import { parseTsigKeySpec } from '../dns/tsig-key.js';
import { systemClock } from '../clock.js';
import { silentLogger } from '../log.js';
import { Metrics } from '../ops/metrics.js';
import { RecordTable } from '../table/table.js';
import { TransferJournal } from '../transfer/journal.js';
import { serverChainParts } from './chain-parts.js';
import { rateLimiterFor, startForwarder } from './subsystems.js';

const key = parseTsigKeySpec('k.test:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0');
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

/** The server's stage names for these flags, with the subsystems the config asks for. */
function production(argv: string[]): StageName[] {
  const config = loadConfig(argv);
  const logger = silentLogger();
  const metrics = new Metrics({ defaultMetrics: false, journal: () => ({ entries: 0, bytes: 0 }) });
  const forwarder = config.forwarding ? startForwarder(config, metrics, logger, systemClock) : undefined;
  if (forwarder) closers.push(() => forwarder.close());
  return stageNames(
    serverChainParts(config, {
      table: new RecordTable({ sources: ['files'] }),
      journal: new TransferJournal({ maxEntries: 0, maxBytes: 0 }),
      metrics,
      logger,
      clock: systemClock,
      tsigKeys: new Map(config.tsigKey.map((k) => [k.name, k])),
      rateLimiter: rateLimiterFor(config, systemClock),
      forwarder,
      etcd: config.etcd.length > 0 ? { servable: () => true, describe: () => [] } : undefined,
    }),
  );
}

/** The test helper's stage names for the options that stand for the same settings. */
function tested(o: Omit<TestChainOptions, 'snapshot'>): StageName[] {
  const table = new RecordTable({ sources: ['files'] });
  return stageNames(testChainParts({ snapshot: () => table.current, ...o }));
}

const upstream = { allows: () => true, forward: () => Buffer.alloc(0) };
const transfer = { snapshot: () => new RecordTable({ sources: ['files'] }).current, journal: new TransferJournal({ maxEntries: 0, maxBytes: 0 }), allowedNetworks: { allows: () => false }, nowSeconds: () => 0, logger: silentLogger() };

describe('one stage order for the server and the tests', () => {
  it('every stage is on with every feature on, in the same order in both chains', () => {
    const all = production(['--rate-limit', '10', '--tsig-key', 'k.test:hmac-sha256:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', '--nsid', 'x', '--chaos', '--rotate', 'on', '--forwarding', '--upstream', '127.0.0.1:53', '--etcd', 'http://127.0.0.1:2379', '--etcd-zone', 'e.test']);
    const helper = tested({
      rateLimit: { check: () => 'send' },
      tsig: { keys: new Map([[key.name, key]]), nowSeconds: () => 0 },
      nsid: Buffer.from('x'),
      recursion: upstream,
      chaos: new Map(),
      spread: Math.random,
      transfer,
    });
    expect(helper).toEqual(all);
    // No stage is missing from either: the ten of chain/stages.ts, each once.
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(10);
  });

  it('leaves out the stages of features that are off, keeping the order of the rest', () => {
    const few = production(['--no-forwarding', '--no-chaos', '--rotate', 'off', '--nsid', 'off']);
    expect(few).toEqual(tested({ transfer }));
    expect(few).toEqual(['malformed', 'authoritative', 'transfer']);
  });

  it('the warm-up chain is the production chain without its optional stages', () => {
    const all = production(['--rate-limit', '10', '--nsid', 'x', '--rotate', 'on']);
    const warm = tested({});
    expect(all.filter((name) => warm.includes(name))).toEqual(warm);
  });
});
