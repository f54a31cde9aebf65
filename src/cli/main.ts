#!/usr/bin/env -S node --max-semi-space-size=4 --min-semi-space-size=4 --no-parallel-scavenge --no-memory-reducer --expose-gc --initial-old-space-size=64
/**
 * The `etcdns` executable. Checks the open-file limit before loading anything else: below it,
 * importing the modules fails with EMFILE and a stack trace that does not say why. Then runs
 * run.ts, which connects the CLI to the real process (the shebang is explained there).
 */
import { MIN_OPEN_FILES, openFileLimit, openFileLimitAdvice } from '../fd-limit.js';

const limit = openFileLimit();
if (limit !== undefined && limit < MIN_OPEN_FILES) {
  process.stderr.write(`etcdns: cannot start: ${openFileLimitAdvice(limit, MIN_OPEN_FILES)}\n`);
  process.exit(1);
}
await import('./run.js');
