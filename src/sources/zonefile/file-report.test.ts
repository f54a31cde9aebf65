import { describe, expect, it } from 'vitest';
import type { ZoneFileStatus } from './directory.js';
import { notLoadedReason } from './file-report.js';

const broken: ZoneFileStatus = { file: '/z/broken.test.zone', zone: 'broken.test', everLoaded: false, errors: [{ file: '/z/broken.test.zone', line: 6, message: 'bad address' }] };
const brokeLater: ZoneFileStatus = { ...broken, file: '/z/later.test.zone', zone: 'later.test', everLoaded: true };
const fine: ZoneFileStatus = { file: '/z/good.test.zone', zone: 'good.test', everLoaded: true, errors: [] };

describe('notLoadedReason', () => {
  it("names the file and its first error for the zone's apex and every name below it", () => {
    for (const name of ['broken.test', 'www.broken.test', 'a.b.broken.test']) {
      expect(notLoadedReason([fine, broken], name)).toBe('zone broken.test. not loaded: /z/broken.test.zone: line 6: bad address');
    }
  });

  it('leaves alone names of other zones, look-alike suffixes, and files that loaded once', () => {
    for (const name of ['notbroken.test', 'test', 'www.good.test', 'www.later.test']) expect(notLoadedReason([fine, broken, brokeLater], name)).toBeUndefined();
  });
});
