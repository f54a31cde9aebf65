// A tiny service process for the registry tests: registers one instance through the *built*
// SDK (dist/registry/index.js; `npm run build` first), prints one JSON line with its key and
// lease, then waits to be signalled or killed.
//
// Usage: node registrant.mjs '{"endpoints":[...],"domain":"...","leaseTtlSeconds":5,
//          "instance":{...},"signalHandlers":true}'
import { EtcdRegistry, installSignalHandlers } from '../../dist/registry/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const registry = new EtcdRegistry();
await registry.init({ endpoints: config.endpoints, domain: config.domain, leaseTtlSeconds: config.leaseTtlSeconds });
if (config.signalHandlers) installSignalHandlers(registry);
const reg = await registry.register(config.instance);
process.stdout.write(`${JSON.stringify({ key: reg.key, id: reg.instance.id, lease: reg.leaseId() })}\n`);
// Stay up (the lease keepalive alone would too; this makes it explicit).
setInterval(() => undefined, 1 << 30);
