import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryIncludes, includeChanged, type IncludedFile } from './include-reader.js';

let root: string;
let dir: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcdns-include-'));
  dir = path.join(root, 'zones');
  fs.mkdirSync(path.join(dir, 'inc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'secret'), 'outside\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('directoryIncludes', () => {
  it('reads files in subdirectories, naming them under the directory, and records what it read', () => {
    fs.writeFileSync(path.join(dir, 'inc/hosts'), 'www A 192.0.2.1\n');
    const seen = new Map<string, IncludedFile>();
    const source = directoryIncludes(dir, 'example.test.zone', seen);
    expect(source.path).toBe('example.test.zone');
    expect(source.displayName('inc/hosts')).toBe(path.join(dir, 'inc/hosts'));
    expect(source.read('inc/hosts')).toEqual({ ok: true, text: 'www A 192.0.2.1\n' });
    expect(seen.get('inc/hosts')?.signature).toMatch(/^\d+(\.\d+)?:16:\d+$/);
  });

  it('refuses a top-level file (a zone of its own), a link out of the directory, a directory, a missing file', () => {
    fs.writeFileSync(path.join(dir, 'other.zone'), 'x\n');
    fs.symlinkSync(path.join(root, 'secret'), path.join(dir, 'inc/link'));
    fs.mkdirSync(path.join(dir, 'inc/sub'));
    const seen = new Map<string, IncludedFile>();
    const source = directoryIncludes(dir, 'example.test.zone', seen);
    expect(source.read('other.zone')).toEqual({ ok: false, error: 'a file at the top of the zones directory is a zone of its own; put included files in a subdirectory' });
    expect(source.read('inc/link')).toEqual({ ok: false, error: 'a symbolic link leads outside the zones directory' });
    expect(source.read('inc/sub')).toEqual({ ok: false, error: 'not a regular file' });
    expect(source.read('inc/none')).toEqual({ ok: false, error: 'no such file' });
    expect([...seen.keys()]).toEqual(['other.zone', 'inc/link', 'inc/sub', 'inc/none']);
  });

  it('follows a link that stays inside (ConfigMap ..data style)', () => {
    fs.mkdirSync(path.join(dir, '..v1/inc'), { recursive: true });
    fs.writeFileSync(path.join(dir, '..v1/inc/hosts'), 'ok\n');
    fs.symlinkSync('..v1', path.join(dir, '..data'));
    fs.symlinkSync('../..data/inc/hosts', path.join(dir, 'inc/hosts'));
    expect(directoryIncludes(dir, 'z', new Map()).read('inc/hosts')).toEqual({ ok: true, text: 'ok\n' });
  });
});

describe('includeChanged', () => {
  it('sees edits, creation and removal; not a touch or a same-content swap', async () => {
    const file = path.join(dir, 'inc/hosts');
    fs.writeFileSync(file, 'one\n');
    const seen = new Map<string, IncludedFile>();
    const source = directoryIncludes(dir, 'z', seen);
    source.read('inc/hosts');
    source.read('inc/later');
    const hosts = seen.get('inc/hosts')!;
    const later = seen.get('inc/later')!;
    expect(await includeChanged(dir, 'inc/hosts', hosts)).toBe(false);
    expect(await includeChanged(dir, 'inc/later', later)).toBe(false);

    const t = new Date(Date.now() + 5000);
    fs.utimesSync(file, t, t);
    fs.writeFileSync(`${file}.tmp`, 'one\n');
    fs.renameSync(`${file}.tmp`, file);
    expect(await includeChanged(dir, 'inc/hosts', hosts)).toBe(false);
    expect(hosts.signature).toBe(`${fs.statSync(file).mtimeMs}:4:${fs.statSync(file).ino}`); // remembered: no re-read next time

    fs.writeFileSync(file, 'two\n');
    expect(await includeChanged(dir, 'inc/hosts', hosts)).toBe(true);
    fs.writeFileSync(path.join(dir, 'inc/later'), 'new\n');
    expect(await includeChanged(dir, 'inc/later', later)).toBe(true);
    fs.rmSync(file);
    expect(await includeChanged(dir, 'inc/hosts', hosts)).toBe(true);
  });

  it('keeps a refused file refused until that changes', async () => {
    const seen = new Map<string, IncludedFile>();
    const source = directoryIncludes(dir, 'z', seen);
    fs.writeFileSync(path.join(dir, 'top'), 'x\n');
    fs.symlinkSync(path.join(root, 'secret'), path.join(dir, 'inc/link'));
    source.read('top');
    source.read('inc/link');
    expect(await includeChanged(dir, 'top', seen.get('top')!)).toBe(false);
    expect(await includeChanged(dir, 'inc/link', seen.get('inc/link')!)).toBe(false);
    fs.rmSync(path.join(dir, 'inc/link'));
    fs.writeFileSync(path.join(dir, 'inc/link'), 'now a file\n');
    expect(await includeChanged(dir, 'inc/link', seen.get('inc/link')!)).toBe(true);
  });
});
