/**
 * The etcdns package: the service registry SDK (also at `etcdns/registry`) and the gRPC
 * resolver (also at `etcdns/grpc`). The DNS server itself is the `etcdns` command.
 */
export * from './registry/index.js';
export { registerEtcdResolver, createEtcdResolverClass, ROUND_ROBIN_CHANNEL_OPTIONS } from './registry/grpc.js';
