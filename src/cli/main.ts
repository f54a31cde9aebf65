#!/usr/bin/env node
/**
 * The `etcdns` executable: connects the CLI (cli.ts) to the real process and the real
 * server. Nothing imports this file.
 */
import { runServer } from '../app.js';
import { checkZoneFile } from '../sources/zonefile/directory.js';
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), {
  runServer,
  checkZoneFile,
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});

// Exit explicitly: once serve has closed its sockets, a stray timer or watcher must not keep
// the process alive. Writes to a pipe may still be queued, so wait for both streams first.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((done) => s.write('', done))));
process.exit(code);
