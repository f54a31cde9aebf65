// V8's GC pauses of an etcdns server during one dnsperf run, read from the `--trace-gc` lines
// its log gets (startEtcdns passes the flag). At a steady rate a young-generation collection
// (Scavenge) stops the event loop for ~0.3 ms and every query arriving meanwhile waits: the
// count and the longest pause are what the tail of the latency is made of, and they are far
// less sensitive to a busy machine than p99 itself.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Where the log ends now: pass it to gcPausesSince after the run. */
export function logOffset(logFile) {
  try { return statSync(logFile).size; } catch { return 0; }
}

// "[pid:0x…]  1234 ms: Scavenge 30.4 (36.0) -> 27.4 (36.0) MB, 0.41 / 0.00 ms  (…) task;"
// "… ms: Mark-Compact 14.3 (22.3) -> 11.0 (22.0) MB, 4.08 / 0.03 ms  (…)"; the first figure is the pause.
const LINE = /ms: (Scavenge|Minor Mark-Sweep|Mark-Compact(?: \(reduce\))?|Mark-sweep)\b[^,]*, ([\d.]+) \/ [\d.]+ ms/;

/** Per kind of collection logged after `from`: { count, maxMs, totalMs } (empty when none or no log). */
export function gcPausesSince(logFile, from) {
  let text;
  try {
    const size = statSync(logFile).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    const fd = openSync(logFile, 'r');
    try { readSync(fd, buf, 0, buf.length, from); } finally { closeSync(fd); }
    text = buf.toString('utf8');
  } catch { return {}; }
  const out = {};
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const kind = m[1].startsWith('Scavenge') ? 'scavenge' : m[1].startsWith('Minor') ? 'minorMarkSweep' : 'markCompact';
    const ms = Number(m[2]);
    const k = (out[kind] ??= { count: 0, maxMs: 0, totalMs: 0 });
    k.count++;
    k.maxMs = Math.max(k.maxMs, ms);
    k.totalMs = Math.round((k.totalMs + ms) * 100) / 100;
  }
  return out;
}

/** "scavenge 12 (max 0.41 ms), markCompact 1 (max 4.1 ms)", or '' when nothing was logged. */
export function formatGc(gc) {
  return Object.entries(gc ?? {}).map(([k, v]) => `${k} ${v.count} (max ${v.maxMs} ms)`).join(', ');
}
