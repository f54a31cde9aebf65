/**
 * The etcdns extension values (src/skydns/extension.ts) through Go's real encoding/json, the
 * decoder CoreDNS's etcd plugin uses: test/support/skydns-decode.go decodes each value into a
 * struct of msg.Service's fields, tags and Go types and applies `shouldInclude`. Every value
 * UPDATE writes for a type SkyDNS cannot express must decode without error (an error would fail
 * CoreDNS's lookup of every name above the key) and take part in no answer of any query type.
 * src/skydns/extension.test.ts checks the same rules written out in TypeScript; this is the
 * check with Go's decoder itself (case-insensitive field names, unknown fields, uint32 ranges).
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RRType } from '../src/dns/constants.js';
import { recordValue } from '../src/skydns/update-records.js';
import { findTool } from './support/tools.js';
import { REPO_ROOT } from './support/server.js';

const GO = findTool('go');

interface Verdict {
  error?: string;
  host: string;
  text: string;
  ttl: number;
  included?: Record<string, boolean>;
}

/** Runs the Go decoder over `values`; resolves with one verdict per value. */
function decodeWithGo(values: readonly string[]): Promise<Verdict[]> {
  return new Promise((resolve, reject) => {
    // GOPROXY=off: the program uses the standard library only; nothing may be fetched.
    const env = { ...process.env, GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'etcdns-go-cache') };
    const child = execFile(GO!, ['run', join(REPO_ROOT, 'test/support/skydns-decode.go')], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`go run failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as Verdict[]);
    });
    child.stdin!.end(JSON.stringify(values));
  });
}

const raw = (...bytes: number[]) => Uint8Array.from(bytes);
const written = [
  recordValue({ type: RRType.DHCID, generic: true, raw: raw(0, 1, 1, ...Array.from({ length: 32 }, (_, i) => i)) }, 1200),
  recordValue({ type: RRType.CAA, generic: true, raw: raw(0, 5, ...Buffer.from('issueca.example.net')) }, 3600),
  recordValue({ type: RRType.SSHFP, generic: true, raw: raw(4, 2, ...Array.from({ length: 32 }, () => 0xab)) }, 300),
  recordValue({ type: RRType.HTTPS, generic: true, raw: raw(0, 1, 0) }, 2 ** 31 - 1),
  recordValue({ type: 65280, generic: true, raw: raw() }, 1),
];

const MISSING = GO ? '' : ' (go is missing; install with: sudo apt-get install golang-go)';

(GO ? describe : describe.skip)(`etcdns extension values as CoreDNS decodes them (Go encoding/json)${MISSING}`, () => {
  it('decode without error and take part in no answer, for every query type', async () => {
    const verdicts = await decodeWithGo(written);
    verdicts.forEach((v, i) => {
      expect(v.error, written[i]).toBeUndefined();
      expect(v.host).toBe('');
      expect(v.text).toBe('');
      expect(v.ttl).toBe(JSON.parse(written[i]!).ttl);
      expect(Object.values(v.included!).some(Boolean), written[i]).toBe(false);
    });
  }, 180_000);

  it('the decoder tells the values CoreDNS fails on or answers from (so the check above can fail)', async () => {
    const [badTtl, withHost, withText, upperCase] = await decodeWithGo([
      '{"ttl":"300","etcdns":{"type":49,"rdata":"AAEB"}}',
      '{"host":"192.0.2.1","etcdns":{"type":49,"rdata":"AAEB"}}',
      '{"text":"x","etcdns":{"type":49,"rdata":"AAEB"}}',
      '{"HOST":"192.0.2.1"}',
    ]);
    expect(badTtl!.error).toMatch(/uint32/);
    expect(withHost!.included!.A).toBe(true);
    expect(withText!.included).toMatchObject({ TXT: true, A: false });
    expect(upperCase!.included!.A).toBe(true);
  }, 180_000);
});
