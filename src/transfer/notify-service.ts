/**
 * NOTIFY (RFC 1996) as the server runs it: the sender (notify.ts) with its UDP sockets, one per
 * address family the targets use, announcing each zone's new serial as the table swaps
 * snapshots, from the first snapshot on (a secondary that was notified of nothing since our
 * start learns of it too).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.js';
import type { Name } from '../dns/name.js';
import type { TsigKey } from '../dns/tsig-key.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../table/snapshot.js';
import { zoneSerial } from '../table/zone.js';
import { signRequest } from '../wire/tsig.js';
import { NotifySender, type NotifyEvent, type NotifyTarget } from './notify.js';
import { soaRecord } from './zone-records.js';

export interface NotifyServiceOptions {
  readonly targets: readonly NotifyTarget[];
  /** --notify-delay. */
  readonly delayMs: number;
  /** --notify-key: every NOTIFY is signed with it. */
  readonly key: TsigKey | undefined;
  /** Subscribes to the table's snapshots (RecordTable.onSwap). */
  readonly onSwap: (listener: (snapshot: Snapshot) => void) => void;
  readonly onEvent?: (e: NotifyEvent) => void;
  readonly logger: Logger;
  readonly clock: Clock;
}

export class NotifyService {
  readonly #sockets: { udp4?: UdpSocket; udp6?: UdpSocket } = {};
  readonly #sender: NotifySender;
  #stopped = false;

  static start(o: NotifyServiceOptions): NotifyService {
    return new NotifyService(o);
  }

  private constructor(o: NotifyServiceOptions) {
    const key = o.key;
    this.#sender = new NotifySender({
      targets: o.targets.map((t) => ({ host: t.host, port: t.port })),
      delayMs: o.delayMs,
      clock: o.clock,
      logger: o.logger.child({ component: 'notify' }),
      socket: { send: (message, port, host) => this.#socketFor(host, o.logger).send(message, port, host) },
      onEvent: o.onEvent,
      // RFC 8945 §5.1: a fresh time on every send, retries included.
      sign: key ? (message) => signRequest(message, key, Date.now() / 1000).message : undefined,
    });
    const announced = new Map<Name, number>();
    o.onSwap((snapshot) => {
      if (this.#stopped) return;
      for (const [origin, zone] of snapshot.zones) {
        const serial = zoneSerial(zone);
        if (announced.get(origin) === serial) continue;
        announced.set(origin, serial);
        this.#sender.zoneChanged(soaRecord(zone));
      }
    });
  }

  #socketFor(host: string, logger: Logger): UdpSocket {
    const family = isIPv6(host) ? 'udp6' : 'udp4';
    let socket = this.#sockets[family];
    if (!socket) {
      socket = createSocket(family);
      socket.on('message', (message, from) => this.#sender.receive(message, { address: from.address, port: from.port }));
      socket.on('error', (err) => logger.warn({ err }, 'notify socket error'));
      socket.bind(0);
      this.#sockets[family] = socket;
    }
    return socket;
  }

  stop(): void {
    this.#stopped = true;
    this.#sender.close();
    for (const socket of Object.values(this.#sockets)) socket.close();
  }
}
