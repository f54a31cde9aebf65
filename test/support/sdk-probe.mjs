// Child processes for test/registry-sdk.test.ts, run against the *built* SDK (dist/): what a
// user's script sees when it ends (exit code, how long it stays alive), which a test cannot
// see from inside its own process.
//
// Usage: node sdk-probe.mjs '{"mode":"getService"|"grpc-close", "endpoints":[...], ...}'
import * as grpc from '@grpc/grpc-js';
import { EtcdRegistry } from '../../dist/registry/index.js';
import { registerEtcdResolver } from '../../dist/registry/grpc.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const registry = new EtcdRegistry({ endpoints: config.endpoints, domain: 'svc.example.test', syncTimeoutMs: config.syncTimeoutMs });

if (config.mode === 'getService') {
  // A plain script: nothing else keeps the process alive while getService waits for etcd.
  const started = performance.now();
  try {
    await registry.getService('payments');
    print({ ok: true });
  } catch (err) {
    print({ code: err.code, ms: Math.round(performance.now() - started) });
  }
  await registry.close();
} else if (config.mode === 'grpc-close') {
  registerEtcdResolver(grpc, registry, { firstListTimeoutMs: 200 });
  const Client = grpc.makeGenericClientConstructor({}, 'Echo');
  const client = new Client('etcd:///echo', grpc.credentials.createInsecure());
  // Wait for the channel to try (and fail: etcd is unreachable) so the resolver is running.
  await new Promise((resolve) => client.waitForReady(Date.now() + 500, () => resolve()));
  client.close();
  await registry.close();
  // A resolver grpc-js creates after close() must give up at once too.
  const late = new Client('etcd:///echo', grpc.credentials.createInsecure());
  const state = await new Promise((resolve) =>
    late.makeUnaryRequest('/etcdns.test.Echo/WhoAmI', (b) => b, (b) => b, Buffer.alloc(0), { deadline: Date.now() + 2000 }, (err) => resolve(err ? err.details : 'answered')),
  );
  late.close();
  print({ closed: true, late: state });
  // Nothing else to do: the process must now end by itself.
}
