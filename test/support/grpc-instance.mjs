// A gRPC service instance for the drain test: a grpc-js echo server on 127.0.0.1 registered
// through the *built* SDK with installSignalHandlers' drain hook (SIGTERM: revoke, give clients
// a moment to drop this instance, finish the calls in flight, then end). Prints {"port": N}.
//
// Usage: node grpc-instance.mjs '{"endpoints":[...],"domain":"...","service":"...","id":"..."}'
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdRegistry, installSignalHandlers } from '../../dist/registry/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const server = new grpc.Server();
const identity = (b) => b;
server.addService(
  { whoAmI: { path: '/etcdns.test.Echo/WhoAmI', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  {
    // A little work per call, so that calls are in flight when the signal comes.
    whoAmI: (_call, callback) => void sleep(10).then(() => callback(null, Buffer.from(config.id))),
  },
);
const port = await new Promise((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
);
const registry = new EtcdRegistry({ endpoints: config.endpoints, domain: config.domain, leaseTtlSeconds: 5 });
installSignalHandlers(registry, {
  drain: async () => {
    // The lease is revoked: clients' watches drop this instance within milliseconds; calls
    // they started before that still arrive for a moment, then finish here.
    await sleep(500);
    await new Promise((resolve) => server.tryShutdown(resolve));
  },
});
await registry.register({ service: config.service, id: config.id, host: '127.0.0.1', port, portName: 'grpc' });
process.stdout.write(`${JSON.stringify({ port })}\n`);
