/**
 * What the DNS transport reports beside queries: TCP connections refused over the limits,
 * dropped frames, idle timeouts, socket and handler errors (transport/types.ts
 * TransportEventType, a fixed set: a safe label), counted by kind so that an alert can see a
 * flood or a bug that no query metric shows.
 */
import { Counter, type Registry } from 'prom-client';

/** Registers `etcdns_transport_events_total{type}`; returns the callback for DnsTransport's onEvent. */
export function registerTransportEvents(registry: Registry): (e: { readonly type: string }) => void {
  const counter = new Counter({
    name: 'etcdns_transport_events_total',
    help: 'Transport events by type: tcp-rejected (over --tcp-max-connections*), frame-dropped, tcp-timeout, tcp-error, udp-error, handler-error.',
    labelNames: ['type'],
    registers: [registry],
    aggregator: 'sum',
  });
  return (e) => counter.inc({ type: e.type });
}
