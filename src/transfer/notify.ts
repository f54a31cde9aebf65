import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import type { Clock, Timer } from '../clock.js';
import { Rcode, rcodeName, RRType } from '../dns/constants.js';
import { ipv6Bytes, formatIPv6 } from '../dns/ip.js';
import { toPresentation, type Name } from '../dns/name.js';
import { hasShape, type RR } from '../dns/records.js';
import type { Logger } from '../log.js';
import { formatHostPort } from '../net.js';
import { readNotifyAck, renderNotify } from '../wire/notify.js';

/**
 * The NOTIFY sender (RFC 1996): tells the secondaries of our zones (Knot, NSD, BIND, ...) that
 * a zone's SOA serial changed, so they refresh now rather than at the SOA REFRESH timer.
 *
 * Per zone and target there is at most one NOTIFY outstanding, and:
 *
 * - Coalescing, trailing edge. A change starts a window of `delayMs`; further changes during
 *   it only replace the SOA to send, and when the window ends one NOTIFY with the newest SOA
 *   goes out. So a burst of changes (an etcd transaction applied key by key, a zone-file
 *   reload, a deploy registering 100 instances) costs one NOTIFY and one transfer per
 *   secondary, not one per intermediate serial; every change reaches the secondaries within
 *   `delayMs`. The window does not restart with each change (a throttle, not a debounce): a
 *   zone that never stops changing is still announced once per `delayMs`. Not the leading
 *   edge: sending the first change at once would make every secondary transfer an intermediate
 *   version, then transfer again at the end of the burst. No two messages for one zone go to
 *   one target less than `delayMs` apart, retransmissions included.
 *
 * - Retransmission until acknowledged (RFC 1996 §3.6) at growing intervals: `retryMs.first`,
 *   doubling to `retryMs.max`, each with equal jitter from `random` (src/backoff.ts: a pick in
 *   [d/2, d]) so that restarts do not retry in lock-step. Never given up (§3.6 suggests 5
 *   retransmissions as a default; we go on): the secondary otherwise only learns of the
 *   change at its REFRESH timer, hours later. After `WARN_AFTER_TRIES` unanswered tries one
 *   warning; one info line when it answers again.
 *   A retransmission reuses the query ID: it is the same message, retransmitted, so a late
 *   acknowledgement of any earlier copy counts (with an ID per copy, an ack that crossed the
 *   next copy on the wire would be thrown away and the wait would start over). A new
 *   serial gets a new random ID (node:crypto, as for forwarded queries: RFC 5452 §9.2) and
 *   supersedes the outstanding NOTIFY, whose ID is then no longer accepted.
 *
 * - Acknowledgements (§3.3) count only when they match the outstanding NOTIFY's ID, are a
 *   NOTIFY response for the same zone, and come from the target's own address and port; any
 *   other datagram is ignored (anti-spoofing: an off-path sender must forge the target's
 *   address and port, and guess both the ID and our socket's port). NOERROR is the ack.
 *   NOTAUTH or REFUSED: the secondary does not accept NOTIFY from us (its ACL, or a missing
 *   TSIG key); one warning, then retransmission at the longest interval, because an operator
 *   may fix the ACL and then the next try is acknowledged. NOTIMP: the target does not implement NOTIFY at all (§3.12: the
 *   NOTIFY is then complete for that secondary); one warning, and nothing more is sent to that
 *   target, for any zone, until restart. Any other RCODE (FORMERR, SERVFAIL) counts as no
 *   answer: retransmitted on the normal schedule.
 *
 * One socket for both families: `socket.send(message, port, host)` is called with the
 * target's literal address and the caller routes it (an IPv6 literal to its udp6 socket, an
 * IPv4 one to udp4), and feeds every datagram either socket receives to `receive`. Source
 * addresses are compared in canonical form, so `::1` matches `0:0:0:0:0:0:0:1` and an
 * IPv4-mapped `::ffff:127.0.0.1` (a dual-stack udp6 socket) matches `127.0.0.1`.
 *
 * Acknowledgements are not TSIG-verified here: `sign` signs what we send; a caller that needs
 * signed acks checks them before calling `receive`.
 */

export interface NotifyTarget {
  /** An IPv4 or IPv6 literal (no hostnames: acks are matched on the source address). */
  readonly host: string;
  readonly port: number;
}

export interface NotifySocket {
  send(message: Buffer, port: number, host: string): void;
}

/**
 * - sent: a NOTIFY for a new serial went out
 * - retry: it was retransmitted (no acknowledgement yet)
 * - acked: the target acknowledged it (NOERROR)
 * - refused: the target answered NOTAUTH or REFUSED (retransmitted at the longest interval)
 * - superseded: a newer serial replaced an unacknowledged NOTIFY
 * - stopped: the target answered NOTIMP; nothing more is sent to it
 */
export interface NotifyEvent {
  zone: Name;
  /** `host:port` (IPv6 in brackets). */
  target: string;
  outcome: 'sent' | 'acked' | 'retry' | 'refused' | 'superseded' | 'stopped';
}

export interface NotifySenderOptions {
  readonly targets: readonly NotifyTarget[];
  /** The coalescing window: a change is announced this long after it, at most once per window. */
  readonly delayMs: number;
  readonly clock: Clock;
  readonly socket: NotifySocket;
  readonly logger: Logger;
  /** Applied to every message as it is sent (TSIG, RFC 8945: signed per send, fresh time). */
  readonly sign?: (message: Buffer) => Buffer;
  /** Jitter of the retransmission intervals; Math.random by default. */
  readonly random?: () => number;
  readonly onEvent?: (e: NotifyEvent) => void;
  /** Retransmission intervals before jitter; default first 1000 ms, doubling, at most 30000 ms. */
  readonly retryMs?: { readonly first: number; readonly max: number };
}

/** Unanswered tries, across serials, after which a target's silence is logged at warn. */
const WARN_AFTER_TRIES = 3;
const DEFAULT_NOTIFY_RETRY_MS = { first: 1000, max: 30_000 } as const;

/** RFC 2136 §2.2 NOTAUTH (9): what Knot answers a NOTIFY its ACL does not allow (others say REFUSED). */
const NOTAUTH = 9;

interface TargetState {
  /** Canonical address, for matching acks. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, for logs and events. */
  readonly label: string;
  stopped: boolean;
  readonly slots: Map<Name, Slot>;
}

interface Outstanding {
  readonly id: number;
  readonly soa: RR;
  readonly message: Buffer;
}

/** One zone at one target. */
interface Slot {
  readonly zone: Name;
  readonly target: TargetState;
  /** The newest SOA, waiting for the coalescing window to end. */
  next: RR | undefined;
  /** The NOTIFY sent and not yet acknowledged. */
  outstanding: Outstanding | undefined;
  timer: Timer;
  /** What the timer does: send `next`, or retransmit `outstanding`; undefined when none is set. */
  timerKind: 'send' | 'retry' | undefined;
  lastSentAt: number;
  /** Sends since the last acknowledgement, across serials: the backoff attempt and the warning. */
  unacked: number;
  /** The RCODE of the last answer that was not an ack, for the warning. */
  lastRcode: number | undefined;
  /** Logged at warn: silence after WARN_AFTER_TRIES, or a refusal; info when acked again. */
  warnedSilent: boolean;
  refused: boolean;
}

export class NotifySender {
  readonly #targets: TargetState[];
  readonly #byAddress = new Map<string, TargetState>();
  readonly #delayMs: number;
  readonly #clock: Clock;
  readonly #socket: NotifySocket;
  readonly #logger: Logger;
  readonly #sign: ((message: Buffer) => Buffer) | undefined;
  readonly #random: () => number;
  readonly #onEvent: ((e: NotifyEvent) => void) | undefined;
  readonly #policy: BackoffPolicy;
  #closed = false;

  constructor(o: NotifySenderOptions) {
    const retry = o.retryMs ?? DEFAULT_NOTIFY_RETRY_MS;
    if (!(o.delayMs >= 0)) throw new Error(`NOTIFY delay must be at least 0 ms, not ${o.delayMs}`);
    if (!(retry.first > 0 && retry.max >= retry.first)) throw new Error(`NOTIFY retry intervals must satisfy 0 < first <= max, not ${retry.first}, ${retry.max}`);
    this.#delayMs = o.delayMs;
    this.#clock = o.clock;
    this.#socket = o.socket;
    this.#logger = o.logger;
    this.#sign = o.sign;
    this.#random = o.random ?? Math.random;
    this.#onEvent = o.onEvent;
    this.#policy = { initialMs: retry.first, maxMs: retry.max, jitter: 'equal' };
    this.#targets = [];
    for (const t of o.targets) {
      const address = canonicalAddress(t.host);
      if (address === undefined) throw new Error(`NOTIFY target ${t.host} is not an IP address`);
      if (!Number.isInteger(t.port) || t.port < 1 || t.port > 0xffff) throw new Error(`NOTIFY target port ${t.port} is not a port`);
      const key = `${address}|${t.port}`;
      // The same secondary listed twice would get every NOTIFY twice.
      if (this.#byAddress.has(key)) continue;
      const state: TargetState = { address, host: t.host, port: t.port, label: formatHostPort(t.host, t.port), stopped: false, slots: new Map() };
      this.#byAddress.set(key, state);
      this.#targets.push(state);
    }
  }

  /** A zone's serial changed (or the zone appeared): notify every target. */
  zoneChanged(soa: RR): void {
    if (this.#closed) return;
    if (soa.type !== RRType.SOA) throw new Error(`zoneChanged takes the zone's SOA, not type ${soa.type}`);
    for (const target of this.#targets) {
      if (target.stopped) continue;
      let slot = target.slots.get(soa.name);
      if (!slot) {
        slot = {
          zone: soa.name,
          target,
          next: undefined,
          outstanding: undefined,
          timer: undefined,
          timerKind: undefined,
          lastSentAt: -Infinity,
          unacked: 0,
          lastRcode: undefined,
          warnedSilent: false,
          refused: false,
        };
        target.slots.set(soa.name, slot);
      }
      // The serial being retransmitted already: nothing new to tell.
      const serial = serialOf(soa);
      if (!slot.next && slot.outstanding && serial !== undefined && serialOf(slot.outstanding.soa) === serial) continue;
      slot.next = soa;
      // A window is open: its end sends the newest SOA.
      if (slot.timerKind === 'send') continue;
      // The outstanding NOTIFY's retransmission gives way to the new serial's window. The
      // outstanding one stays acceptable until the new one is sent. The last send was at or
      // before now, so the window also keeps the two messages `delayMs` apart.
      this.#cancel(slot);
      this.#schedule(slot, 'send', this.#delayMs);
    }
  }

  /** A datagram arrived on the NOTIFY socket (the composition root wires the dgram 'message' event here). */
  receive(message: Buffer, from: { address: string; port: number }): void {
    if (this.#closed) return;
    const ack = readNotifyAck(message);
    if (!ack) return;
    const address = canonicalAddress(from.address);
    const target = address === undefined ? undefined : this.#byAddress.get(`${address}|${from.port}`);
    const slot = target?.slots.get(ack.zone);
    if (!target || target.stopped || !slot?.outstanding || slot.outstanding.id !== ack.id) {
      this.#logger.debug({ from: formatHostPort(from.address, from.port), zone: toPresentation(ack.zone), id: ack.id }, 'NOTIFY response matches no outstanding NOTIFY; ignored');
      return;
    }
    const fields = { zone: toPresentation(slot.zone), target: target.label, serial: serialOf(slot.outstanding.soa) };
    switch (ack.rcode) {
      case Rcode.NOERROR: {
        if (slot.warnedSilent || slot.refused) this.#logger.info({ ...fields, tries: slot.unacked }, 'secondary acknowledged NOTIFY again');
        slot.outstanding = undefined;
        slot.unacked = 0;
        slot.lastRcode = undefined;
        slot.warnedSilent = false;
        slot.refused = false;
        // A window for a newer serial stays open; only the retransmission ends.
        if (slot.timerKind === 'retry') this.#cancel(slot);
        this.#emit(slot, 'acked');
        return;
      }
      case NOTAUTH:
      case Rcode.REFUSED: {
        slot.lastRcode = ack.rcode;
        if (!slot.refused) {
          this.#logger.warn(
            { ...fields, rcode: ack.rcode === NOTAUTH ? 'NOTAUTH' : 'REFUSED' },
            'secondary refuses our NOTIFY (its ACL or TSIG key for us?); retrying at the longest interval',
          );
          slot.refused = true;
        }
        if (slot.timerKind === 'retry') {
          this.#cancel(slot);
          this.#scheduleRetry(slot);
        }
        this.#emit(slot, 'refused');
        return;
      }
      case Rcode.NOTIMP: {
        this.#logger.warn({ ...fields }, 'secondary does not implement NOTIFY (NOTIMP); no more NOTIFY to it');
        target.stopped = true;
        for (const s of target.slots.values()) this.#cancel(s);
        target.slots.clear();
        this.#emit(slot, 'stopped');
        return;
      }
      default:
        // FORMERR, SERVFAIL, ...: not an ack; the retransmission schedule stands.
        slot.lastRcode = ack.rcode;
        this.#logger.debug({ ...fields, rcode: ack.rcode }, 'NOTIFY answered with an error; will retransmit');
    }
  }

  close(): void {
    this.#closed = true;
    for (const target of this.#targets) for (const slot of target.slots.values()) this.#cancel(slot);
  }

  #schedule(slot: Slot, kind: 'send' | 'retry', ms: number): void {
    slot.timerKind = kind;
    slot.timer = this.#clock.setTimeout(() => {
      slot.timerKind = undefined;
      slot.timer = undefined;
      if (kind === 'send') this.#sendNext(slot);
      else this.#retransmit(slot);
    }, Math.max(0, ms));
  }

  #cancel(slot: Slot): void {
    if (slot.timerKind === undefined) return;
    this.#clock.clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.timerKind = undefined;
  }

  #sendNext(slot: Slot): void {
    const soa = slot.next;
    if (!soa || this.#closed || slot.target.stopped) return;
    slot.next = undefined;
    if (slot.outstanding) this.#emit(slot, 'superseded');
    const id = randomInt(0, 0x10000);
    slot.outstanding = { id, soa, message: renderNotify(id, soa) };
    this.#transmit(slot, 'sent');
  }

  #retransmit(slot: Slot): void {
    if (!slot.outstanding || this.#closed || slot.target.stopped) return;
    this.#transmit(slot, 'retry');
  }

  #transmit(slot: Slot, outcome: 'sent' | 'retry'): void {
    const { message } = slot.outstanding!;
    const target = slot.target;
    // Checked before each send, new serial or not: a zone that changes faster than the
    // retransmissions still gets its dead secondary reported.
    if (slot.unacked >= WARN_AFTER_TRIES && !slot.warnedSilent && !slot.refused) {
      slot.warnedSilent = true;
      this.#logger.warn(
        {
          zone: toPresentation(slot.zone),
          target: target.label,
          serial: serialOf(slot.outstanding!.soa),
          tries: slot.unacked,
          ...(slot.lastRcode === undefined ? {} : { rcode: rcodeName(slot.lastRcode) }),
        },
        'secondary has not acknowledged NOTIFY; still retrying',
      );
    }
    try {
      this.#socket.send(this.#sign ? this.#sign(message) : message, target.port, target.host);
    } catch (err) {
      // A socket that is closing, or a signer that failed: as good as a lost datagram, retried.
      this.#logger.debug({ err, zone: toPresentation(slot.zone), target: target.label }, 'NOTIFY send failed; will retransmit');
    }
    slot.lastSentAt = this.#clock.now();
    slot.unacked++;
    this.#emit(slot, outcome);
    this.#scheduleRetry(slot);
  }

  /** The next retransmission: backoff on the unanswered tries; the longest interval when refused. */
  #scheduleRetry(slot: Slot): void {
    const attempt = slot.refused ? Infinity : slot.unacked - 1;
    const wait = Math.max(this.#delayMs, backoffDelay(this.#policy, attempt, this.#random));
    this.#schedule(slot, 'retry', slot.lastSentAt + wait - this.#clock.now());
  }

  #emit(slot: Slot, outcome: NotifyEvent['outcome']): void {
    this.#onEvent?.({ zone: slot.zone, target: slot.target.label, outcome });
  }
}

function serialOf(soa: RR): number | undefined {
  return hasShape(soa.data, RRType.SOA) ? soa.data.serial : undefined;
}

/**
 * An IP literal in the form acks are matched in: IPv4 dotted, IPv6 per RFC 5952, an
 * IPv4-mapped IPv6 address as its IPv4 address; a scope (`%eth0`) kept. Undefined for
 * anything that is not an IP literal.
 */
function canonicalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  const percent = address.indexOf('%');
  const scope = percent < 0 ? '' : address.slice(percent);
  const bytes = ipv6Bytes(percent < 0 ? address : address.slice(0, percent));
  if (!bytes) return undefined;
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.subarray(12).join('.');
  return formatIPv6(bytes) + scope;
}
