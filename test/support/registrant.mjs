// A tiny service process for the registry tests: registers one instance through the *built*
// SDK (dist/registry/index.js; `npm run build` first), prints one JSON line with its key and
// lease (or `{"error": code}` and exits 2), then one line per conflict/registered event, and
// waits to be signalled or killed.
//
// Usage: node registrant.mjs '{"endpoints":[...],"domain":"...","leaseTtlSeconds":5,
//          "instance":{...},"signalHandlers":true,"takeover":false}'
import { EtcdRegistry, installSignalHandlers } from '../../dist/registry/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const registry = new EtcdRegistry();
await registry.init({ endpoints: config.endpoints, domain: config.domain, leaseTtlSeconds: config.leaseTtlSeconds });
if (config.signalHandlers) installSignalHandlers(registry);
registry.on('conflict', (e) => print({ registryConflict: e.outcome, code: e.error.code }));
let reg;
try {
  reg = await registry.register(config.instance, { takeover: config.takeover === true });
} catch (err) {
  print({ error: err.code, message: err.message });
  await registry.close();
  process.exit(2);
}
print({ key: reg.key, id: reg.instance.id, lease: reg.leaseId() });
reg.on('conflict', (e) => print({ conflict: e.outcome, code: e.error.code, heldBy: e.heldBy }));
reg.on('registered', (e) => print({ registered: e.reason, lease: e.leaseId }));
// Stay up (the lease keepalive alone would too; this makes it explicit).
setInterval(() => undefined, 1 << 30);
