/** The address options: --listen and the HTTP listeners, --upstream, --forward, --allow-recursion. */
import { afterAll, describe, expect, it } from 'vitest';
import { configFailure, loadConfig, tempConfigDir } from '../../test/support/config.js';

const { dir, file, remove } = tempConfigDir();
afterAll(remove);

describe('listen (list of HOST:PORT)', () => {
  it('parses IPv4 and bracketed IPv6, repeated flags and comma lists', () => {
    expect(loadConfig(['--listen', '[::1]:53', '--listen', '0.0.0.0:0,10.0.0.1:65535']).listen).toEqual([
      { host: '::1', port: 53 },
      { host: '0.0.0.0', port: 0 },
      { host: '10.0.0.1', port: 65535 },
    ]);
    expect(loadConfig([], { ETCDNS_LISTEN: '127.0.0.1:53, [::1]:53' }).listen).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 53 },
    ]);
  });

  it('names the flag and the bad item', () => {
    expect(configFailure(['--listen', '1.2.3.4:99999'])).toBe('--listen "1.2.3.4:99999": port must be 0-65535');
    expect(configFailure(['--listen', '1.2.3.4:http'])).toBe('--listen "1.2.3.4:http": port must be 0-65535');
    expect(configFailure(['--listen', '1.2.3.4:'])).toBe('--listen "1.2.3.4:": missing port');
    expect(configFailure(['--listen', '1.2.3.4'])).toMatch(/^--listen "1.2.3.4": missing ":PORT"/);
    expect(configFailure(['--listen', 'localhost:53'])).toMatch(/^--listen "localhost:53": host must be an IP address/);
    expect(configFailure(['--listen', '::1:53'])).toBe('--listen "::1:53": an IPv6 address must be in brackets, e.g. [::1]:53');
    expect(configFailure(['--listen', '[1.2.3.4]:53'])).toBe('--listen "[1.2.3.4]:53": not an IPv6 address inside [...]');
    expect(configFailure(['--listen', '[::1]53'])).toBe('--listen "[::1]53": missing ":PORT" after "]"');
    expect(configFailure([], { ETCDNS_LISTEN: '127.0.0.1:53,bad' })).toMatch(/^ETCDNS_LISTEN="bad": missing ":PORT"/);
  });

  it('refuses an empty list, empty items and an address listed twice (but port 0 may repeat)', () => {
    expect(configFailure([], { ETCDNS_LISTEN: '' })).toBe('ETCDNS_LISTEN="": needs at least 1 item');
    expect(configFailure(['--listen', '127.0.0.1:53,,[::1]:53'])).toBe('--listen "127.0.0.1:53,,[::1]:53": empty item in list');
    expect(configFailure(['--listen', '127.0.0.1:53', '--listen', '127.0.0.1:53'])).toBe('--listen "127.0.0.1:53": listed twice');
    expect(loadConfig(['--listen', '127.0.0.1:0,127.0.0.1:0']).listen).toEqual([
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 0 },
    ]);
  });
});

describe('health, ready and metrics listeners', () => {
  it('take HOST:PORT like --listen, port 0 included', () => {
    const config = loadConfig(['--health-listen', '0.0.0.0:8080', '--ready-listen', '[::]:0'], { ETCDNS_METRICS_LISTEN: ' 10.0.0.1:9153 ' });
    expect(config.healthListen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.readyListen).toEqual({ host: '::', port: 0 });
    expect(config.metricsListen).toEqual({ host: '10.0.0.1', port: 9153 });
  });

  it('may share an address', () => {
    const config = loadConfig(['--health-listen', '127.0.0.1:8080', '--ready-listen', '127.0.0.1:8080']);
    expect(config.readyListen).toEqual(config.healthListen);
  });

  it('are disabled with off, in any case', () => {
    const config = loadConfig(['--health-listen', 'off', '--metrics-listen', 'OFF'], { ETCDNS_READY_LISTEN: 'Off' });
    expect(config.healthListen).toBeUndefined();
    expect(config.readyListen).toBeUndefined();
    expect(config.metricsListen).toBeUndefined();
    file('ops.yaml', 'metrics-listen: "off"\n');
    expect(loadConfig(['--config', 'ops.yaml'], {}, dir).metricsListen).toBeUndefined();
  });

  it('name the option and the problem', () => {
    expect(configFailure(['--health-listen', 'localhost:8080'])).toMatch(/^--health-listen "localhost:8080": host must be an IP address/);
    expect(configFailure(['--ready-listen', '8181'])).toMatch(/^--ready-listen "8181": missing ":PORT"/);
    expect(configFailure([], { ETCDNS_METRICS_LISTEN: '127.0.0.1:99999' })).toBe('ETCDNS_METRICS_LISTEN="127.0.0.1:99999": port must be 0-65535');
    expect(configFailure(['--metrics-listen', 'false'])).toMatch(/^--metrics-listen "false": missing ":PORT"/);
    // YAML's unquoted `off` is the boolean false (YAML 1.1 habits): not silently taken as "off".
    file('ops-bool.json', '{"healthListen": false}');
    expect(configFailure(['--config', 'ops-bool.json'], {}, dir)).toBe('config file ops-bool.json: healthListen false: must be a string');
  });
});

describe('upstream (list of ADDR[:PORT])', () => {
  it('parses IPv4 and IPv6 with and without a port (53 by default), repeated or comma-separated', () => {
    expect(loadConfig(['--upstream', '10.0.0.1', '--upstream', '10.0.0.2:5353,[2001:db8::1]:5300', '--upstream', '[2001:db8::2]']).upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '10.0.0.2', port: 5353 },
      { host: '2001:db8::1', port: 5300 },
      { host: '2001:db8::2', port: 53 },
    ]);
    expect(loadConfig([], { ETCDNS_UPSTREAM: ' 1.1.1.1 , 2606:4700:4700::1111 ' }).upstream).toEqual([
      { host: '1.1.1.1', port: 53 },
      { host: '2606:4700:4700::1111', port: 53 },
    ]);
  });

  it('keeps IPv6 canonical (RFC 5952) and takes IPv4-mapped IPv6 as IPv4', () => {
    expect(loadConfig(['--upstream', '2001:DB8:0:0::53']).upstream).toEqual([{ host: '2001:db8::53', port: 53 }]);
    // A bare IPv6 address takes no port: the last group is part of the address.
    expect(loadConfig(['--upstream', '2001:db8::1:53']).upstream).toEqual([{ host: '2001:db8::1:53', port: 53 }]);
    expect(loadConfig(['--upstream', '[::ffff:192.0.2.1]:5353']).upstream).toEqual([{ host: '192.0.2.1', port: 5353 }]);
  });

  it('is empty by default (the nameservers of /etc/resolv.conf are used then)', () => {
    expect(loadConfig().upstream).toEqual([]);
    expect(loadConfig([], { ETCDNS_UPSTREAM: '' }).upstream).toEqual([]);
  });

  it('is read from a config file as a list or a comma-separated string', () => {
    file('upstream.yaml', 'upstream:\n  - 10.0.0.1\n  - "[2001:db8::1]:5353"\n');
    expect(loadConfig(['--config', 'upstream.yaml'], {}, dir).upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '2001:db8::1', port: 5353 },
    ]);
    file('upstream.json', '{"upstream": "10.0.0.1,10.0.0.2:54"}');
    expect(loadConfig(['--config', 'upstream.json'], {}, dir).upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '10.0.0.2', port: 54 },
    ]);
  });

  it('names the flag and the bad item', () => {
    expect(configFailure(['--upstream', 'dns.google'])).toBe('--upstream "dns.google": must be an IP address (e.g. 10.0.0.1, 10.0.0.1:5353, [2001:db8::1]:53)');
    expect(configFailure(['--upstream', '10.0.0.1:0'])).toBe('--upstream "10.0.0.1:0": port must be 1-65535');
    expect(configFailure(['--upstream', '10.0.0.1:65536'])).toBe('--upstream "10.0.0.1:65536": port must be 1-65535');
    expect(configFailure(['--upstream', '10.0.0.1:dns'])).toBe('--upstream "10.0.0.1:dns": port must be 1-65535');
    expect(configFailure(['--upstream', '10.0.0.1:'])).toBe('--upstream "10.0.0.1:": missing port after ":"');
    expect(configFailure(['--upstream', '10.0.0.256'])).toMatch(/^--upstream "10.0.0.256": must be an IP address/);
    expect(configFailure(['--upstream', '[2001:db8::1'])).toBe('--upstream "[2001:db8::1": missing "]" after the IPv6 address');
    expect(configFailure(['--upstream', '[2001:db8::1]53'])).toBe('--upstream "[2001:db8::1]53": expected ":PORT" after "]"');
    expect(configFailure(['--upstream', '[10.0.0.1]:53'])).toBe('--upstream "[10.0.0.1]:53": not an IPv6 address inside [...]');
    expect(configFailure(['--upstream', '2001:db8::zz'])).toBe('--upstream "2001:db8::zz": not an IPv6 address (with a port, write [IPv6]:PORT)');
    expect(configFailure(['--upstream', 'fe80::1%eth0'])).toBe('--upstream "fe80::1%eth0": a zone id (%...) is not supported; use a global or ULA address');
    expect(configFailure(['--upstream', '[fe80::1%eth0]:53'])).toMatch(/a zone id/);
    expect(configFailure(['--upstream', '0.0.0.0'])).toBe('--upstream "0.0.0.0": the unspecified address is not a server to send to');
    expect(configFailure(['--upstream', '[::]:53'])).toBe('--upstream "[::]:53": the unspecified address is not a server to send to');
    expect(configFailure([], { ETCDNS_UPSTREAM: '10.0.0.1,,10.0.0.2' })).toBe('ETCDNS_UPSTREAM="10.0.0.1,,10.0.0.2": empty item in list');
  });

  it('refuses an upstream listed twice (53 written or not) and more than 15', () => {
    expect(configFailure(['--upstream', '10.0.0.1,10.0.0.1:53'])).toBe('--upstream "10.0.0.1:53": listed twice');
    expect(configFailure(['--upstream', '[2001:db8::1],2001:DB8::1'])).toBe('--upstream "2001:DB8::1": listed twice');
    const sixteen = Array.from({ length: 16 }, (_, i) => `10.0.0.${i + 1}`).join(',');
    expect(loadConfig(['--upstream', sixteen.split(',').slice(0, 15).join(',')]).upstream.map((u) => u.host)).toEqual(sixteen.split(',').slice(0, 15));
    expect(configFailure(['--upstream', sixteen])).toMatch(/^--upstream "10\.0\.0\.1,10\.0\.0\.2,.*: takes at most 15 items$/);
  });
});

describe('forward (DOMAIN=ADDR[:PORT], grouped by domain)', () => {
  it('groups repeated flags by domain, in the order given', () => {
    expect(
      loadConfig(['--forward', 'corp.example=10.1.2.3', '--forward', 'lab.test=[2001:db8::53]:5353', '--forward', 'Corp.Example.=10.1.2.4:5353']).forward,
    ).toEqual([
      {
        zone: 'corp.example',
        upstreams: [
          { host: '10.1.2.3', port: 53 },
          { host: '10.1.2.4', port: 5353 },
        ],
      },
      { zone: 'lab.test', upstreams: [{ host: '2001:db8::53', port: 5353 }] },
    ]);
  });

  it('reads a comma-separated env variable and a config-file list the same way', () => {
    const expected = [{ zone: 'corp.example', upstreams: [{ host: '10.1.2.3', port: 53 }, { host: '10.1.2.4', port: 53 }] }];
    expect(loadConfig([], { ETCDNS_FORWARD: 'corp.example=10.1.2.3,corp.example=10.1.2.4' }).forward).toEqual(expected);
    file('forward.yaml', 'forward:\n  - corp.example=10.1.2.3\n  - corp.example=10.1.2.4\n');
    expect(loadConfig(['--config', 'forward.yaml'], {}, dir).forward).toEqual(expected);
    expect(loadConfig(['--forward=corp.example = 10.1.2.3', '--forward', 'corp.example=10.1.2.4']).forward).toEqual(expected);
  });

  it('is empty by default', () => {
    expect(loadConfig().forward).toEqual([]);
  });

  it('names the flag and the bad item', () => {
    expect(configFailure(['--forward', 'corp.example'])).toBe(
      '--forward "corp.example": write DOMAIN=ADDR[:PORT], e.g. corp.example=10.1.2.3 (repeat for more upstreams)',
    );
    expect(configFailure(['--forward', '=10.1.2.3'])).toBe('--forward "=10.1.2.3": missing DOMAIN before "="');
    expect(configFailure(['--forward', 'corp.example='])).toBe('--forward "corp.example=": missing ADDR[:PORT] after "="');
    expect(configFailure(['--forward', 'a..b=10.1.2.3'])).toBe('--forward "a..b=10.1.2.3": empty label in "a..b"');
    expect(configFailure(['--forward', '.=10.1.2.3'])).toBe('--forward ".=10.1.2.3": the root zone is what --upstream is for');
    expect(configFailure(['--forward', 'corp.example=dc1.corp.example'])).toMatch(/^--forward "corp.example=dc1.corp.example": must be an IP address/);
    expect(configFailure(['--forward', 'corp.example=10.1.2.3:0'])).toBe('--forward "corp.example=10.1.2.3:0": port must be 1-65535');
    expect(configFailure([], { ETCDNS_FORWARD: 'corp.example=10.1.2.3,corp.example=10.1.2.3:53' })).toBe(
      'ETCDNS_FORWARD="corp.example=10.1.2.3:53": listed twice',
    );
  });

  it('takes at most 15 upstreams for one domain', () => {
    const items = Array.from({ length: 16 }, (_, i) => `corp.example=10.1.2.${i + 1}`);
    expect(loadConfig([], { ETCDNS_FORWARD: items.slice(0, 15).join(',') }).forward[0]!.upstreams.map((u) => u.host)).toEqual(
      Array.from({ length: 15 }, (_, i) => `10.1.2.${i + 1}`),
    );
    expect(configFailure([], { ETCDNS_FORWARD: items.join(',') })).toBe('ETCDNS_FORWARD="corp.example=10.1.2.16:53": more than 15 upstreams for one domain');
  });
});

describe('allow-recursion (list of CIDR)', () => {
  it('defaults to loopback, private, CGNAT, ULA and link-local networks', () => {
    expect(loadConfig().allowRecursion).toEqual(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10']);
  });

  it('keeps networks canonical; a bare address is one host; IPv4-mapped networks become IPv4', () => {
    expect(loadConfig(['--allow-recursion', '10.42.0.0/16,2001:DB8:0::/32', '--allow-recursion', '192.0.2.7', '--allow-recursion', '2001:db8::7']).allowRecursion).toEqual([
      '10.42.0.0/16',
      '2001:db8::/32',
      '192.0.2.7/32',
      '2001:db8::7/128',
    ]);
    expect(loadConfig(['--allow-recursion', '::ffff:10.0.0.0/104']).allowRecursion).toEqual(['10.0.0.0/8']);
    expect(loadConfig(['--allow-recursion', '0.0.0.0/0,::/0']).allowRecursion).toEqual(['0.0.0.0/0', '::/0']);
  });

  it('names the bad entry', () => {
    expect(configFailure(['--allow-recursion', '10.0.0.0/8,10.0.0.0/33'])).toBe('--allow-recursion "10.0.0.0/33": prefix length must be 0-32');
    expect(configFailure(['--allow-recursion', 'fc00::/129'])).toBe('--allow-recursion "fc00::/129": prefix length must be 0-128');
    expect(configFailure(['--allow-recursion', '10.0.0.0/'])).toBe('--allow-recursion "10.0.0.0/": prefix length must be 0-32');
    expect(configFailure(['--allow-recursion', '10.0.0.0/-1'])).toBe('--allow-recursion "10.0.0.0/-1": prefix length must be 0-32');
    expect(configFailure(['--allow-recursion', '10.0.0.0/8.0'])).toBe('--allow-recursion "10.0.0.0/8.0": prefix length must be 0-32');
    expect(configFailure(['--allow-recursion', '10.1.2.3/8'])).toBe(
      '--allow-recursion "10.1.2.3/8": host bits are set (the network is 10.0.0.0/8; for one host use /32)',
    );
    expect(configFailure(['--allow-recursion', 'fd00::1/8'])).toBe('--allow-recursion "fd00::1/8": host bits are set (the network is fd00::/8; for one host use /128)');
    expect(configFailure(['--allow-recursion', 'corp/8'])).toBe('--allow-recursion "corp/8": not an IPv4 or IPv6 network (write e.g. 10.0.0.0/8 or fc00::/7)');
    expect(configFailure(['--allow-recursion', '10.0.0/8'])).toMatch(/^--allow-recursion "10.0.0\/8": not an IPv4 or IPv6 network/);
    expect(configFailure(['--allow-recursion', 'fe80::%eth0/10'])).toBe('--allow-recursion "fe80::%eth0/10": a zone id (%...) has no place in a network');
    expect(configFailure([], { ETCDNS_ALLOW_RECURSION: '10.0.0.0/8,10.0.0.0/8' })).toBe('ETCDNS_ALLOW_RECURSION="10.0.0.0/8": listed twice');
  });
});
