// Lint: the import boundaries that keep data flowing one way, plus the recommended rules of
// eslint and typescript-eslint (the set that needs no type information, so a run takes seconds).
// No formatting rules.
//
// Data flows one way: sources (etcd watch, zone files) -> record table snapshot -> resolver
// -> wire -> transport. The chain turns a decoded query into an answer; the composition root
// (src/app.ts) wires the layers together and the CLI starts it. Below, each layer lists what it
// may import; anything else is an error (`default: 'disallow'`). Imports inside one layer are
// always fine, and test code may import anything: `*.test.ts`, the `test-support.ts` helpers
// beside them, and `test/`.
//
// eslint-plugin-boundaries rather than import-x's no-restricted-paths: it takes an allow-list
// per layer (a new import direction must be written down here, not merely left unforbidden)
// and can allow `import type` alone (the chain sees transport's types, never its code).
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Folder layers of src/ (eslint-plugin-boundaries "elements"). */
const folders = ['dns', 'etcd', 'skydns', 'table', 'sources', 'resolve', 'wire', 'transfer', 'update', 'chain', 'forward',
  'transport', 'config', 'ops', 'registry', 'cluster', 'cli'];

/** Single-file layers at the top of src/ (eslint-plugin-boundaries file "categories"). */
const files = {
  errors: 'src/errors.ts',
  // Leaf utilities: small modules every layer may be handed; they import nothing of ours.
  utils: 'src/{clock,log,net,version,backoff}.ts',
  package: 'src/index.ts',
  // The composition root and its helpers (the chain's parts, the subsystems' wiring).
  app: 'src/{app.ts,app/*.ts}',
};

/** The entity selector of a layer name, whichever kind of layer it is. */
const layer = (name) => (name in files ? { file: { categories: name } } : { element: { type: name } });
const all = (names) => names.map(layer);

/** Files in `from` may import (values and types of) the layers in `to`. */
const may = (from, to) => ({ from: layer(from), allow: { to: all(to) } });
/** Files in `from` may import the layers in `to` with `import type` only: shapes, never code. */
const mayTypes = (from, to) => ({ from: layer(from), allow: { to: all(to), dependency: { kind: 'type' } } });

const policies = [
  // The one error base class sits below every layer: anything may throw an EtcdnsError.
  { allow: { to: layer('errors') } },
  // Leaf utilities and dns/ (names, constants, records: the vocabulary of every layer above)
  // depend on nothing of ours, so they have no policy of their own.

  // The record table holds records keyed by name: it speaks dns and nothing else.
  may('table', ['dns', 'utils']),
  // Shared by the server's etcd source and the registry SDK. The etcd client and its gap-free
  // mirror know etcd, not DNS; the SkyDNS codec (keys <-> names, JSON values <-> services)
  // knows DNS names, not etcd.
  may('etcd', ['utils']),
  may('skydns', ['dns', 'utils']),
  // Sources (zone files, etcd) feed the table: they see names, records and the table's zone
  // type, never how queries are answered (resolve, wire, chain, transport, forward)
  // nor who runs them (ops, cli, app).
  may('sources', ['dns', 'etcd', 'skydns', 'table', 'utils']),
  // The resolver is a pure function of a table snapshot and a question.
  may('resolve', ['dns', 'table', 'utils']),
  // Only the wire layer sees bytes, and it knows nothing but the dns vocabulary.
  may('wire', ['dns', 'utils']),
  // The chain turns a decoded query into an answer: table, resolver, wire. The transport and
  // the forwarder only as types: the transport calls the chain, and the forwarder is handed
  // to the forward stage by the composition root.
  // Zone transfers out (AXFR, IXFR, NOTIFY) read whole zones of the table and differences
  // between its snapshots, and write them as messages: table and wire, never the resolver.
  may('transfer', ['dns', 'table', 'wire', 'utils']),
  // DNS UPDATE (RFC 2136) into etcd: what a decoded UPDATE means (pure), the SkyDNS keys it
  // writes and the etcd transaction that writes them. The chain's update stage calls it.
  may('update', ['dns', 'wire', 'skydns', 'etcd', 'utils']),
  may('chain', ['dns', 'table', 'resolve', 'wire', 'transfer', 'update', 'utils']),
  mayTypes('chain', ['transport', 'forward']),
  // Forwarding relays a query upstream: dns names and wire bytes, nothing of the table.
  may('forward', ['dns', 'wire', 'utils']),
  // Sockets carry bytes they do not read: no dns, no wire, no resolver.
  may('transport', ['utils']),
  // Config is parsed once at the edge: the dns vocabulary, and the forwarder's parsers of its
  // own option values (ACLs, resolv.conf). It is handed to the layers as values.
  may('config', ['dns', 'forward', 'update', 'utils']),
  // Operations (metrics, HTTP) observe: events come to them. They name query types and rcodes
  // (dns) and see the etcd mirror's status as a type, never the chain they observe.
  may('ops', ['dns', 'utils']),
  mayTypes('ops', ['etcd']),
  // The registry SDK writes and watches etcd: the shared etcd client and mirror, the SkyDNS
  // codec and the dns vocabulary, and nothing of the DNS server (sources, table, resolve,
  // chain, wire, transport, app, cli); src/registry/import-closure.test.ts checks the closure.
  may('registry', ['etcd', 'skydns', 'dns', 'utils']),
  // The package entry point re-exports the SDK.
  may('package', ['registry', 'utils']),
  // Worker processes: the ops endpoints (readiness, metrics merging), and the parsed config
  // as a type (the primary reads its worker count; the workers run the app, not cluster/).
  may('cluster', ['ops', 'transport', 'utils']),
  mayTypes('cluster', ['config']),
  // The composition root wires every layer together; only the CLI is above it.
  may('app', [...folders.filter((f) => f !== 'cli'), 'app', 'utils']),
  // The CLI may use anything; nothing imports it.
  may('cli', [...folders, 'app', 'utils']),
];

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'native/build/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // `_name` marks a parameter or binding that is unused on purpose (a callback's signature).
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_',
        destructuredArrayIgnorePattern: '^_',
      }],
      // Off: the code uses `a || b.push(x)` and `(f(), g())` as statements on purpose (dedupe
      // in the resolver's additional section, waiter loops in test helpers).
      '@typescript-eslint/no-unused-expressions': 'off',
      // A `let` assigned once but read earlier by a closure (a timer that a callback defined
      // before it clears) cannot be `const`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/test-support.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': folders.map((f) => ({ type: f, pattern: `src/${f}` })),
      'boundaries/files': Object.entries(files).map(([category, pattern]) => ({ category, pattern })),
      // Imports end in `.js` (NodeNext); the TypeScript resolver maps them to the `.ts` sources.
      'import/resolver': { typescript: { project: './tsconfig.json' } },
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', checkUnknownLocals: true, policies }],
      // Every source file belongs to a layer: a new folder or top-level file is placed above.
      'boundaries/no-unknown-files': 'error',
    },
  },
);
