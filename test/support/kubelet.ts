/**
 * Exactly what kubelet sets for `kind: Service, metadata.name: etcdns` with ports dns (53/UDP),
 * dns-tcp (53/TCP) and metrics (9153/TCP) at ClusterIP 10.96.0.10 (envvars.go: FromServices).
 */
export const KUBELET_ETCDNS_SERVICE: Readonly<Record<string, string>> = {
  ETCDNS_SERVICE_HOST: '10.96.0.10',
  ETCDNS_SERVICE_PORT: '53',
  ETCDNS_SERVICE_PORT_DNS: '53',
  ETCDNS_SERVICE_PORT_DNS_TCP: '53',
  ETCDNS_SERVICE_PORT_METRICS: '9153',
  ETCDNS_PORT: 'udp://10.96.0.10:53',
  ETCDNS_PORT_53_UDP: 'udp://10.96.0.10:53',
  ETCDNS_PORT_53_UDP_PROTO: 'udp',
  ETCDNS_PORT_53_UDP_PORT: '53',
  ETCDNS_PORT_53_UDP_ADDR: '10.96.0.10',
  ETCDNS_PORT_53_TCP: 'tcp://10.96.0.10:53',
  ETCDNS_PORT_53_TCP_PROTO: 'tcp',
  ETCDNS_PORT_53_TCP_PORT: '53',
  ETCDNS_PORT_53_TCP_ADDR: '10.96.0.10',
  ETCDNS_PORT_9153_TCP: 'tcp://10.96.0.10:9153',
  ETCDNS_PORT_9153_TCP_PROTO: 'tcp',
  ETCDNS_PORT_9153_TCP_PORT: '9153',
  ETCDNS_PORT_9153_TCP_ADDR: '10.96.0.10',
};
