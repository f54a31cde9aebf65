import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { defaultUpstreams } from './default-upstreams.js';

function logged() {
  const lines: { msg: string; nameserver?: string; reason?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const listen = [{ host: '127.0.0.1', port: 53 }];

describe('defaultUpstreams', () => {
  it('uses --upstream when given, without reading resolv.conf', () => {
    const { logger } = logged();
    const configured = [{ host: '192.0.2.1', port: 5353 }];
    const read = () => {
      throw new Error('read');
    };
    expect(defaultUpstreams({ configured, listen, logger, readResolvConf: read })).toBe(configured);
  });

  it('takes resolv.conf nameservers otherwise, minus ourselves, saying which it left out', () => {
    const { logger, lines } = logged();
    const text = 'nameserver 127.0.0.1\nnameserver 192.0.2.53\n';
    expect(defaultUpstreams({ configured: [], listen, logger, readResolvConf: () => text })).toEqual([{ host: '192.0.2.53', port: 53 }]);
    expect(lines).toMatchObject([{ msg: 'not forwarding to this resolv.conf nameserver', nameserver: '127.0.0.1:53' }]);
  });

  it('warns and forwards nowhere when resolv.conf cannot be read', () => {
    const { logger, lines } = logged();
    const read = () => {
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    };
    const found = defaultUpstreams({ configured: [], listen: [{ host: '127.0.0.1', port: 5353 }], logger, readResolvConf: read });
    expect(lines[0]).toMatchObject({ msg: 'cannot read resolv.conf for upstreams' });
    // An empty resolv.conf means 127.0.0.1:53 to glibc; unless that is us, it is used.
    expect(found).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });
});
