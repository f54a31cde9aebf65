// A grpc-js client whose target `etcd:///payments` resolves to the live instances of
// "payments", round-robin, updated as they come and go, kept through etcd outages.
// Needs @grpc/grpc-js >= 1.14 (an optional peer dependency of etcdns).
import * as grpc from '@grpc/grpc-js';
import { EtcdRegistry } from 'etcdns/registry';
import { registerEtcdResolver, ROUND_ROBIN_CHANNEL_OPTIONS } from 'etcdns/grpc';

const registry = new EtcdRegistry();
await registry.init({ endpoints: (process.env.ETCD ?? 'http://127.0.0.1:2379').split(','), domain: 'svc.example.test' });
registerEtcdResolver(grpc, registry); // pass the grpc module your app uses

const Client = grpc.makeGenericClientConstructor({}, 'Payments');
const client = new Client('etcd:///payments', grpc.credentials.createInsecure(), ROUND_ROBIN_CHANNEL_OPTIONS);
client.waitForReady(Date.now() + 5000, (error) => {
  console.log(error ? `not ready: ${error.message}` : 'channel ready: calls go to the registered instances');
  client.close();
  void registry.close();
});
