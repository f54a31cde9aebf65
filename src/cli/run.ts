/**
 * What the `etcdns` executable runs once main.ts has checked the open-file limit: connects the
 * CLI (cli.ts) to the real process and the real server. Nothing else imports this file.
 *
 * main.ts's shebang fixes V8's young generation at 4 MiB per semi-space (as the Dockerfile's
 * ENTRYPOINT does; see docs/performance.md, Memory). Capped: Node's default lets it grow
 * to 16 MiB during a large initial etcd sync and keep it (100k keys: ~240 → ~197 MiB
 * resident). Floored: after idle V8 shrinks it to 1 MiB, and at a steady query rate it then
 * collects every ~0.1 s instead of every ~0.4 s, each pause delaying the queries behind it
 * (p99 at 10k q/s ~0.2 → ~0.15 ms). And it collects the young generation on the main thread
 * alone (--no-parallel-scavenge): with a few KB surviving each collection the helper threads
 * save nothing, and on a busy machine the main thread waited for a helper the kernel did not
 * schedule (scavenges of up to 181 ms instead of at most 14; docs/performance.md, Latency).
 * The price: an initial etcd sync, whose scavenges keep much alive, is ~10% slower (100k keys).
 * The old generation: the server collects it once, after its warm-up, before /ready first says
 * 200 (app/warm-up.ts; --expose-gc gives it `gc`), and --no-memory-reducer keeps V8 from starting
 * up to three collections of its own some 8-16 s after start, while the first clients are served
 * (4-36 ms each on a loaded box; docs/performance.md, Latency from a cold start).
 * --initial-old-space-size=64 (MB): after that collection V8 set the next one's limit a few MB
 * above the live heap, and a mark-compact came in the first seconds of traffic; with 64 MB it
 * did not (3 of 3 runs of the bench's steady step from a cold start; no resident-memory cost:
 * it is a limit, not an allocation).
 * `env -S` is coreutils >= 8.30 and BSD env.
 *
 * With `serve --workers N` (N > 1) this process becomes the cluster primary and forks N
 * workers, each running this same file with the same arguments; Node marks them as workers,
 * and here they run the server itself, reporting to the primary (cluster/).
 */
import cluster from 'node:cluster';
import { runServer } from '../app.js';
import { runCluster } from '../cluster/primary.js';
import { WorkerLink } from '../cluster/worker.js';
import { systemClock } from '../clock.js';
import type { ServeConfig } from '../config/serve-options.js';
import type { Logger } from '../log.js';
import { checkZoneFile } from '../sources/zonefile/directory.js';
import { runCli } from './cli.js';
import type { CliContext } from './context.js';

const link = cluster.isWorker ? new WorkerLink(process) : undefined;

function serve(config: ServeConfig, logger: Logger): Promise<{ close(): Promise<void> }> {
  if (link) return runServer(config, logger, systemClock, link);
  if (config.workers > 1) return runCluster(config, logger);
  return runServer(config, logger);
}

/**
 * A worker stops when the primary says so, or on a SIGTERM of its own. SIGINT is ignored: a
 * Ctrl-C in a terminal reaches every process of the group, and the primary, which got it
 * too, already coordinates the shutdown (a second stop request would mean "exit now").
 */
const workerSignals: CliContext['onSignal'] = (listener) => {
  let fired = false;
  const once = (): void => {
    if (fired) return;
    fired = true;
    listener('SIGTERM');
  };
  const ignore = (): void => {};
  const unsubscribe = link!.onShutdown(once);
  process.on('SIGTERM', once);
  process.on('SIGINT', ignore);
  return () => {
    unsubscribe();
    process.off('SIGTERM', once);
    process.off('SIGINT', ignore);
  };
};

const code = await runCli(process.argv.slice(2), {
  runServer: serve,
  checkZoneFile,
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  ...(link ? { onSignal: workerSignals, logFields: { worker: cluster.worker!.id } } : {}),
});

// Exit explicitly: once serve has closed its sockets, a stray timer or watcher must not keep
// the process alive. Writes to a pipe may still be queued, so wait for both streams first -
// but not forever (a reader that stopped reading), and a write error (a full disk, a closed
// pipe) must not turn a clean exit into a crash.
await Promise.all(
  [process.stdout, process.stderr].map(
    (s) =>
      new Promise<void>((done) => {
        s.on('error', () => done());
        // Ref'd: with nothing else left, an unref'd timer would end the process mid-await.
        setTimeout(done, 2000);
        s.write('', () => done());
      }),
  ),
);
process.exit(code);
