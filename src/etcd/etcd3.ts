/**
 * The etcd3 package, loaded on first use. With gRPC and protobufjs it costs ~28 MB resident
 * and ~0.1 s to load, which a server with zone files only (and every CLI command that never
 * talks to etcd) has no reason to pay. etcd3 is CommonJS, so a synchronous require keeps the
 * callers synchronous.
 */
import { createRequire } from 'node:module';

type Etcd3Module = typeof import('etcd3');

let loaded: Etcd3Module | undefined;

export function etcd3(): Etcd3Module {
  loaded ??= createRequire(import.meta.url)('etcd3') as Etcd3Module;
  return loaded;
}
