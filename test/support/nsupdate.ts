/**
 * BIND's nsupdate (bind9-dnsutils) as the DNS UPDATE tests drive it: a script of `update` and
 * `prereq` lines sent to one server, answered by the RCODE nsupdate reports.
 */
import { spawn } from 'node:child_process';
import type { Tsig } from './secondaries.js';

export interface NsupdateOptions {
  /** The nsupdate binary (`findTool('nsupdate')`); `nsupdate` on PATH by default. */
  readonly bin?: string;
  /** Signs with this key (`-y`). */
  readonly key?: Tsig;
  /** Over TCP (`-v`) rather than UDP. */
  readonly tcp?: boolean;
}

/** Runs nsupdate with `lines` against 127.0.0.1:`port` for `zone`; resolves with the RCODE it reports (NOERROR when it says nothing). */
export function nsupdate(port: number, zone: string, lines: readonly string[], o: NsupdateOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [...(o.tcp ? ['-v'] : []), ...(o.key ? ['-y', `${o.key.algorithm}:${o.key.name}:${o.key.secret}`] : [])];
    const child = spawn(o.bin ?? 'nsupdate', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve('NOERROR');
      const failed = /update failed: (\w+)/.exec(out);
      resolve(failed ? failed[1]! : `exit ${code}: ${out.trim()}`);
    });
    child.stdin.end([`server 127.0.0.1 ${port}`, `zone ${zone}.`, ...lines, 'send', ''].join('\n'));
  });
}
