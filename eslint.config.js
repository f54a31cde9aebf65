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
  utils: 'src/{clock,log,log-limit,net,version,backoff,lifecycle,fd-limit}.ts',
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
  // own option values (ACLs, resolv.conf) and DNS UPDATE's grants. It is handed to the layers
  // as values. Before anything starts, it asks the etcd client to check its TLS files and the
  // transport whether the native UDP engine loads (--udp-io batch).
  may('config', ['dns', 'etcd', 'forward', 'transport', 'update', 'utils']),
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
  { ignores: ['dist/**', 'packages/*/dist/**', 'dist-check/**', 'native/build/**', 'bench/results/**', 'coverage/**'] },
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
      // Small functions and modules: a function that needs more than a screen usually does
      // several jobs (runServer did twelve in 215 lines). Comments and blank lines do not count.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
      'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }],
    },
  },
  // The few functions longer than 80 lines on purpose, each with its reason.
  ...[
    // The per-query closure keeps the reused Request and QueryEvent objects in its scope: one
    // allocation less per query; split, the hot path would pay a call and a lookup more.
    ['src/chain/pipeline.ts', 'createPipeline'],
    // The --workers supervisor: fork, restart with backoff, drain and stop share its state
    // through the cluster module's events; pieces of it would pass that state around.
    ['src/cluster/primary.ts', 'runCluster'],
    // One check per field of a SkyDNS value, in the order CoreDNS's msg.Service declares them:
    // the list is long, each step is one line of validation.
    ['src/skydns/codec.ts', 'parseService'],
    // A switch with one case per RR type's RDATA syntax (RFC 1035 §3.3 and the types since).
    ['src/sources/zonefile/rdata-parsers.ts', 'parseRData'],
    // The master-file tokenizer (RFC 1035 §5.1) as one state machine over the text: it is the
    // inner loop of loading large zones, and its states share the position and line.
    ['src/sources/zonefile/tokenizer.ts', 'tokenize'],
    // One pass over an upstream reply's sections with one offset (RFC 5452 §9.1 checks, where
    // each section starts); it must never throw, whatever the bytes.
    ['src/wire/relay.ts', 'inspect'],
  ].map(([file]) => ({ files: [file], rules: { 'max-lines-per-function': 'off' } })),
);
