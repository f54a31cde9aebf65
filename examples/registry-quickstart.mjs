// Register this process as an instance of "payments" and discover the service, with the
// etcdns registry SDK. Run: ETCD=http://127.0.0.1:2379 node examples/registry-quickstart.mjs
// (after `npm install`, which builds dist/). Ctrl-C revokes the lease: the instance leaves DNS at once.
import { EtcdRegistry, installSignalHandlers } from 'etcdns/registry';

const registry = new EtcdRegistry();
await registry.init({
  endpoints: (process.env.ETCD ?? 'http://127.0.0.1:2379').split(','),
  domain: 'svc.example.test', // one of the DNS server's --etcd-zone
  leaseTtlSeconds: 10, // the keepalive is the heartbeat; a dead process vanishes after this
});
installSignalHandlers(registry); // SIGTERM/SIGINT: revoke the lease, then exit

const registration = await registry.register({
  service: 'payments',
  id: 'p1', // default: hostname-pid-random
  host: '127.0.0.1',
  port: 8443,
  metadata: { version: '1.2.3' },
});
console.log(`registered ${registration.key}`);
// dig @127.0.0.1 -p 1053 payments.svc.example.test SRV → 10 100 8443 p1.payments.svc.example.test.

const { instances, stale } = await registry.getService('payments');
console.log(JSON.stringify({ instances: instances.map((i) => `${i.host}:${i.port}`), stale }));

for await (const service of registry.watch('payments')) {
  console.log(`payments now has ${service.instances.length} instance(s)${service.stale ? ' (etcd unreachable: last known list)' : ''}`);
}
