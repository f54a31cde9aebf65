import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { defaultText, type OptionSpec } from '../config/option-spec.js';
import { SERVE_OPTIONS, type ServeConfig } from '../config/serve-options.js';
import type { Name } from '../dns/name.js';
import { createLogger, type Logger } from '../log.js';
import { runCli } from './cli.js';
import type { CheckZoneResult, CliContext } from './context.js';

const CWD = '/srv/etcdns';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  logs: string;
}

/** A CLI context with fakes for everything outside the process: captured output, no real server. */
function harness(overrides: Partial<CliContext> = {}) {
  const out = { stdout: '', stderr: '', logs: '' };
  let signalListener: ((signal: NodeJS.Signals) => void) | undefined;
  const ctx: CliContext = {
    env: {},
    cwd: CWD,
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    logDestination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.logs += chunk.toString();
        done();
      },
    }),
    onSignal: (listener) => {
      signalListener = listener;
      return () => {
        signalListener = undefined;
      };
    },
    exit: vi.fn(),
    // Fails by default, so that a test which should never reach the server cannot hang
    // waiting for a signal if it does.
    runServer: vi.fn(async (): Promise<{ close(): Promise<void> }> => {
      throw new Error('runServer called');
    }),
    checkZoneFile: vi.fn(async (): Promise<CheckZoneResult> => ({ ok: true, errors: [], warnings: [] })),
    ...overrides,
  };
  return {
    ctx,
    async run(...args: string[]): Promise<Run> {
      const code = await runCli(args, ctx);
      return { code, ...out };
    },
    /** Delivers a signal once serve is waiting for one. */
    async signal(name: NodeJS.Signals): Promise<void> {
      await vi.waitFor(() => expect(signalListener).toBeDefined());
      signalListener!(name);
    },
  };
}

/** Help text with yargs' line wrapping undone, so phrases can be searched whole. */
function flat(text: string): string {
  return text.replace(/\s+/g, ' ');
}

const OPTIONS: readonly OptionSpec[] = SERVE_OPTIONS;

describe('help and version', () => {
  it('etcdns --help lists the commands and every serve option with its default and env variable', async () => {
    const { code, stdout, stderr } = await harness().run('--help');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const text = flat(stdout);
    expect(text).toContain('etcdns serve');
    expect(text).toContain('etcdns check-zone <file>');
    for (const o of OPTIONS) {
      expect(text, o.name).toMatch(new RegExp(`--(\\[no-\\])?${o.name}\\b[^\\n]*? default: ${escape(defaultText(o))}, env: ${o.env}\\b`));
    }
  });

  it('etcdns serve --help describes every option with its default and env variable', async () => {
    const { code, stdout } = await harness().run('serve', '--help');
    expect(code).toBe(0);
    const text = flat(stdout);
    for (const o of OPTIONS) {
      expect(text, o.name).toContain(`--${o.name} `);
      expect(text, o.name).toContain(`[default: ${defaultText(o)}] [env: ${o.env}]`);
      expect(text, o.name).toContain(o.description.split(' ').slice(0, 4).join(' '));
    }
    expect(text).toContain('[choices: fatal, error, warn, info, debug, trace, silent]');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await harness().run('--version');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });
});

describe('usage errors: one line on stderr, exit code 2', () => {
  it.each([
    [['serve', '--lisen', '127.0.0.1:53'], 'etcdns: unknown argument: lisen; see "etcdns serve --help"'],
    [['serve', '--listen'], 'etcdns: not enough arguments following: listen; see "etcdns serve --help"'],
    [['serve', 'extra'], 'etcdns: unknown argument: extra; see "etcdns serve --help"'],
    [[], 'etcdns: missing command (serve, check-zone, register, records); see "etcdns --help"'],
    [['sevre'], 'etcdns: unknown command "sevre" (commands: serve, check-zone, register, records); see "etcdns --help"'],
    [['check-zone'], 'etcdns: not enough non-option arguments: got 0, need at least 1; see "etcdns check-zone --help"'],
  ])('%j', async (args, line) => {
    const h = harness();
    const { code, stdout, stderr } = await h.run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${line}\n`);
    expect(h.ctx.runServer).not.toHaveBeenCalled();
  });

  it.each([
    [['serve', '--edns-udp-size', 'abc'], {}, 'etcdns: --edns-udp-size "abc": not a number'],
    [['serve', '--listen', '1.2.3.4:99999'], {}, 'etcdns: --listen "1.2.3.4:99999": port must be 0-65535'],
    [['serve', '--chaos=maybe'], {}, 'etcdns: --chaos "maybe": must be true or false (or 1/0, yes/no)'],
    [['serve'], { ETCDNS_EDNS_UDP_SIZE: 'abc' }, 'etcdns: ETCDNS_EDNS_UDP_SIZE="abc": not a number'],
    [['serve'], { ETCDNS_LISTN: 'x' }, 'etcdns: unknown environment variable ETCDNS_LISTN (did you mean ETCDNS_LISTEN?)'],
    [['serve', '--config', 'nope.yaml'], {}, 'etcdns: config file nope.yaml: not found'],
    [['serve', '--etcd', 'http://127.0.0.1:2379'], {}, 'etcdns: --etcd needs --etcd-zone: name the zones to answer from etcd (e.g. --etcd-zone example.com)'],
    [['serve', '--etcd-zone', 'example.com'], {}, 'etcdns: --etcd-zone needs --etcd: the etcd endpoints to read the zones from (e.g. --etcd http://127.0.0.1:2379)'],
    [['serve', '--etcd', 'etcd:2379'], {}, 'etcdns: --etcd "etcd:2379": must start with http:// or https:// (e.g. http://127.0.0.1:2379)'],
    [['serve', '--metrics-listen', 'localhost:9153'], {}, 'etcdns: --metrics-listen "localhost:9153": host must be an IP address (e.g. 127.0.0.1, 0.0.0.0, [::])'],
    [['serve', '--etcd-username', 'dns'], { ETCDNS_ETCD_PASSWORD: '' }, 'etcdns: ETCDNS_ETCD_PASSWORD=[redacted]: must not be empty'],
    [['serve', '--no-forwarding', '--upstream', '10.0.0.1'], {}, 'etcdns: --upstream has no effect with --no-forwarding (names outside our zones are refused)'],
    [['serve', '--forward', 'corp.example'], {}, 'etcdns: --forward "corp.example": write DOMAIN=ADDR[:PORT], e.g. corp.example=10.1.2.3 (repeat for more upstreams)'],
    [['serve', '--allow-recursion', '10.0.0.0/33'], {}, 'etcdns: --allow-recursion "10.0.0.0/33": prefix length must be 0-32'],
  ])('config error %j %j', async (args, env, line) => {
    const h = harness({ env });
    const { code, stdout, stderr } = await h.run(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${line}\n`);
    expect(h.ctx.runServer).not.toHaveBeenCalled();
  });
});

describe('serve', () => {
  it('passes the config from flags and env (no yargs defaults) and stops cleanly on a signal', async () => {
    const close = vi.fn(async () => {});
    let seen: ServeConfig | undefined;
    const h = harness({
      env: { ETCDNS_EDNS_UDP_SIZE: '1400' },
      runServer: vi.fn(async (config: ServeConfig, _logger: Logger) => {
        seen = config;
        return { close };
      }),
    });
    const running = h.run('serve', '--zones', 'z', '--listen', '[::1]:0', '--log-format', 'json', '--no-chaos');
    await h.signal('SIGTERM');
    const { code, stderr, logs } = await running;
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(close).toHaveBeenCalledOnce();
    expect(seen?.zones).toBe('/srv/etcdns/z');
    expect(seen?.listen).toEqual([{ host: '::1', port: 0 }]);
    expect(seen?.ednsUdpSize).toBe(1400);
    expect(seen?.chaos).toBe(false);
    expect(seen?.logQueries).toBe(false);
    expect([...(seen?.explicit ?? [])].sort()).toEqual(['chaos', 'edns-udp-size', 'listen', 'log-format', 'zones']);
    const messages = logs.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(['shutting down', 'stopped']);
  });

  it('passes the etcd and ops options through yargs (repeated list flags, off, env password)', async () => {
    let seen: ServeConfig | undefined;
    const h = harness({
      env: { ETCDNS_ETCD_PASSWORD: 's3cret' },
      runServer: vi.fn(async (config: ServeConfig) => {
        seen = config;
        return { close: async () => {} };
      }),
    });
    const running = h.run(
      'serve',
      '--log-format', 'json',
      '--etcd', 'http://127.0.0.1:2379',
      '--etcd', 'http://[::1]:2379',
      '--etcd-zone', 'Example.com.',
      '--etcd-zone', 'svc.test',
      '--etcd-prefix', '/dns',
      '--etcd-username', 'dns',
      '--etcd-default-ttl', '30s',
      '--max-stale', '5m',
      '--health-listen', 'off',
      '--ready-listen', '127.0.0.1:0',
    );
    await h.signal('SIGTERM');
    const { code, stderr } = await running;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(seen?.etcd).toEqual(['http://127.0.0.1:2379', 'http://[::1]:2379']);
    expect(seen?.etcdZone).toEqual(['example.com', 'svc.test']);
    expect(seen?.etcdPrefix).toBe('/dns');
    expect(seen?.etcdUsername).toBe('dns');
    expect(seen?.etcdPassword).toBe('s3cret');
    expect(seen?.etcdDefaultTtlMs).toBe(30_000);
    expect(seen?.maxStaleMs).toBe(300_000);
    expect(seen?.healthListen).toBeUndefined();
    expect(seen?.readyListen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(seen?.metricsListen).toEqual({ host: '127.0.0.1', port: 9153 });
  });

  it('passes the forwarding options through yargs (repeated --forward, size suffix, CIDR lists)', async () => {
    let seen: ServeConfig | undefined;
    const h = harness({
      env: { ETCDNS_FORWARD: 'lab.test=10.9.9.9' },
      runServer: vi.fn(async (config: ServeConfig) => {
        seen = config;
        return { close: async () => {} };
      }),
    });
    const running = h.run(
      'serve',
      '--log-format', 'json',
      '--upstream', '10.0.0.1',
      '--upstream', '[2001:db8::53]:5353',
      '--forward', 'corp.example=10.1.2.3',
      '--forward=corp.example=10.1.2.4:5353',
      '--forward-policy', 'sequential',
      '--forward-timeout', '1s',
      '--allow-recursion', '10.42.0.0/16,fd00::/8',
      '--cache-bytes', '8m',
      '--serve-stale', '0',
    );
    await h.signal('SIGTERM');
    const { code, stderr } = await running;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(seen?.forwarding).toBe(true);
    expect(seen?.upstream).toEqual([
      { host: '10.0.0.1', port: 53 },
      { host: '2001:db8::53', port: 5353 },
    ]);
    // The flags replace ETCDNS_FORWARD whole, as for every list.
    expect(seen?.forward).toEqual([{ zone: 'corp.example', upstreams: [{ host: '10.1.2.3', port: 53 }, { host: '10.1.2.4', port: 5353 }] }]);
    expect(seen?.forwardPolicy).toBe('sequential');
    expect(seen?.forwardTimeoutMs).toBe(1000);
    expect(seen?.allowRecursion).toEqual(['10.42.0.0/16', 'fd00::/8']);
    expect(seen?.cacheBytes).toBe(8 * 1024 * 1024);
    expect(seen?.serveStaleMs).toBe(0);
  });

  it('takes --no-forwarding from yargs', async () => {
    let seen: ServeConfig | undefined;
    const h = harness({
      runServer: vi.fn(async (config: ServeConfig) => {
        seen = config;
        return { close: async () => {} };
      }),
    });
    const running = h.run('serve', '--log-format', 'json', '--no-forwarding');
    await h.signal('SIGTERM');
    expect((await running).code).toBe(0);
    expect(seen?.forwarding).toBe(false);
  });

  it('exits at once on a second signal during shutdown', async () => {
    let finishClose: () => void = () => {};
    const h = harness({
      runServer: vi.fn(async () => ({ close: () => new Promise<void>((done) => (finishClose = done)) })),
    });
    const running = h.run('serve', '--log-format', 'json');
    await h.signal('SIGINT');
    await h.signal('SIGTERM');
    expect(h.ctx.exit).toHaveBeenCalledWith(128 + 15);
    finishClose();
    expect((await running).code).toBe(0);
  });

  it('logs a startup failure and exits 1', async () => {
    const h = harness({
      runServer: vi.fn(async () => {
        throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:5353');
      }),
    });
    const { code, stderr, logs } = await h.run('serve', '--log-format', 'json');
    expect(code).toBe(1);
    expect(stderr).toBe('');
    const entry = JSON.parse(logs.trim()) as { level: number; msg: string };
    expect(entry.level).toBe(60);
    expect(entry.msg).toBe('cannot start: listen EADDRINUSE: address already in use 127.0.0.1:5353');
  });

  it('says why it could not start even with logging off', async () => {
    const h = harness({
      runServer: vi.fn(async () => {
        throw new Error('listen EACCES');
      }),
    });
    const { code, stderr, logs } = await h.run('serve', '--log-level', 'silent');
    expect(code).toBe(1);
    expect(logs).toBe('');
    expect(stderr).toBe('etcdns: cannot start: listen EACCES\n');
  });

  it('treats a ConfigError from the server as a usage error', async () => {
    const h = harness({
      runServer: vi.fn(async () => {
        throw new ConfigError('--zones "z": directory does not exist');
      }),
    });
    const { code, stderr } = await h.run('serve');
    expect(code).toBe(2);
    expect(stderr).toBe('etcdns: --zones "z": directory does not exist\n');
  });
});

describe('check-zone', () => {
  it('prints OK with the origin and record count', async () => {
    const checkZoneFile = vi.fn(async (_path: string, origin?: Name): Promise<CheckZoneResult> => ({
      ok: true,
      origin: origin ?? 'example.com',
      records: 3,
      errors: [],
      warnings: [{ file: '/srv/etcdns/zones/example.com.zone', line: 4, message: 'TTL capped' }],
    }));
    const h = harness({ checkZoneFile });
    const { code, stdout } = await h.run('check-zone', 'zones/example.com.zone', '--origin', 'Example.ORG.');
    expect(code).toBe(0);
    expect(checkZoneFile).toHaveBeenCalledWith('/srv/etcdns/zones/example.com.zone', 'example.org');
    expect(stdout).toBe(
      'zones/example.com.zone:4: warning: TTL capped\nzones/example.com.zone: OK, zone example.org., 3 records\n',
    );
  });

  it('prints one line per error and exits 1', async () => {
    const h = harness({
      checkZoneFile: vi.fn(async () => ({
        ok: false,
        errors: [
          { file: '/srv/etcdns/db.example', line: 7, message: 'unknown type "AAA"' },
          { file: '/srv/etcdns/inc/hosts', line: 2, message: 'bad IPv4 address' },
        ],
        warnings: [],
      })),
    });
    const { code, stdout } = await h.run('check-zone', 'db.example');
    expect(code).toBe(1);
    expect(stdout).toBe('db.example:7: unknown type "AAA"\ninc/hosts:2: bad IPv4 address\n');
  });

  it('refuses a bad --origin with exit code 2', async () => {
    const h = harness();
    const { code, stderr } = await h.run('check-zone', 'db.example', '--origin', 'a..b');
    expect(code).toBe(2);
    expect(stderr).toBe('etcdns: --origin "a..b": empty label in "a..b"\n');
    expect(h.ctx.checkZoneFile).not.toHaveBeenCalled();
  });

  it('reports a file that cannot be read with exit code 1', async () => {
    const h = harness({
      checkZoneFile: vi.fn(async () => {
        throw new Error("ENOENT: no such file or directory, open '/srv/etcdns/nope'");
      }),
    });
    const { code, stderr } = await h.run('check-zone', 'nope');
    expect(code).toBe(1);
    expect(stderr).toBe("etcdns: nope: ENOENT: no such file or directory, open '/srv/etcdns/nope'\n");
  });
});

describe('createLogger', () => {
  function capture(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream, text: () => text };
  }

  it('writes JSON lines for json, and for auto when the destination is not a terminal', () => {
    for (const format of ['json', 'auto'] as const) {
      const { stream, text } = capture();
      createLogger({ level: 'info', format, destination: stream }).info({ zone: 'example.' }, 'hello');
      expect(JSON.parse(text())).toMatchObject({ level: 30, msg: 'hello', zone: 'example.' });
    }
  });

  it('writes human-readable lines, synchronously, for pretty and for auto on a terminal', () => {
    for (const format of ['pretty', 'auto'] as const) {
      const { stream, text } = capture();
      if (format === 'auto') stream.isTTY = true;
      createLogger({ level: 'info', format, destination: stream }).info({ zone: 'example.' }, 'hello');
      // Checked right after the call: nothing may be left in a buffer at process exit.
      expect(text()).toMatch(/INFO.*hello/);
      expect(text()).toContain('"zone":"example."');
      expect(text().trim().split('\n')).toHaveLength(1);
      expect(() => JSON.parse(text())).toThrow();
    }
  });

  it('honours the level', () => {
    const { stream, text } = capture();
    const logger = createLogger({ level: 'warn', format: 'json', destination: stream });
    logger.info('quiet');
    logger.warn('loud');
    expect(text().trim().split('\n')).toHaveLength(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
