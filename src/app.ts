/**
 * The composition root: builds the server from a validated config. Data flows one way:
 * sources (zone files) → record table snapshot → responder (resolve + wire) → transport.
 * Nothing imports this module but the CLI.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ConfigError, type ServeConfig } from './config/load.js';
import type { Logger } from './log.js';
import { chaosNames } from './server/chaos.js';
import { Responder } from './server/responder.js';
import { ZoneDirectory } from './sources/zonefile/directory.js';
import { RecordTable } from './table/table.js';
import { DnsTransport } from './transport/server.js';
import { toPresentation } from './dns/name.js';
import { packageVersion } from './version.js';

export interface RunningServer {
  /** Where the server listens, as bound (port 0 resolved). */
  readonly addresses: readonly { transport: 'udp' | 'tcp'; host: string; port: number }[];
  close(): Promise<void>;
}

const ZONE_FILE_SOURCE = 'zonefiles';

export async function runServer(config: ServeConfig, logger: Logger): Promise<RunningServer> {
  const table = new RecordTable({ sources: [ZONE_FILE_SOURCE] });
  table.onSwap((snapshot) => {
    logger.info({ zones: [...snapshot.zones.keys()].map(toPresentation), generation: snapshot.generation }, 'serving zones');
  });

  const zonesDir = resolvePath(config.zones);
  let zoneDirectory: ZoneDirectory | undefined;
  if (existsSync(zonesDir)) {
    zoneDirectory = new ZoneDirectory({
      dir: zonesDir,
      logger: logger.child({ source: 'zonefiles' }),
      onChange: (zones) => table.publish(ZONE_FILE_SOURCE, zones),
    });
    await zoneDirectory.start();
  } else if (config.explicit.has('zones')) {
    throw new ConfigError(`--zones "${config.zones}": directory does not exist`);
  } else {
    logger.warn({ dir: zonesDir }, 'no zones directory: serving no zones (set --zones)');
  }

  const responder = new Responder({
    snapshot: () => table.current,
    logger,
    ednsUdpSize: config.ednsUdpSize,
    chaos: config.chaos ? chaosNames(packageVersion()) : undefined,
    logQueries: config.logQueries,
  });

  const transport = new DnsTransport({
    handler: responder.handle,
    logger: logger.child({ component: 'transport' }),
    options: {
      tcpIdleTimeoutMs: config.tcpIdleTimeoutMs,
      tcpMaxConnections: config.tcpMaxConnections,
      tcpMaxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
      tcpMaxQueriesPerConnection: config.tcpMaxQueriesPerConnection,
      tcpMaxInFlightPerConnection: 32,
    },
  });
  let bound;
  try {
    bound = await transport.listen(config.listen);
  } catch (error) {
    zoneDirectory?.stop();
    throw error;
  }
  const addresses = bound.map((b) => ({ transport: b.transport, host: b.host, port: b.port }));
  logger.info({ addresses: addresses.map((a) => `${a.transport}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`) }, 'listening');

  return {
    addresses,
    async close() {
      zoneDirectory?.stop();
      await transport.close();
    },
  };
}
