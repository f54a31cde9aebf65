/**
 * TSIG keys (RFC 8945): the shared secrets that authenticate zone transfers and NOTIFY, and
 * the parsers for the forms operators already have them in: a one-line spec for a flag, and
 * the key files that BIND's `tsig-keygen`/`rndc-confgen` and Knot's `keymgr -t` write. Here
 * in dns/ (no bytes, no crypto calls) so that config and the wire layer share one definition.
 */
import { EtcdnsError } from '../errors.js';
import { parseName, toPresentation, type Name } from './name.js';

/** The HMAC algorithms of RFC 8945 §6 that are usable (GSS-TSIG is not a shared secret). */
export type TsigAlgorithm = 'hmac-md5' | 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

export interface TsigAlgorithmInfo {
  /** The algorithm's name in the TSIG RR, canonical (RFC 8945 §6, IANA "TSIG Algorithm Names"). */
  readonly wireName: Name;
  /** The node:crypto hash for createHmac. */
  readonly hash: string;
  /** Octets of the full MAC (the hash output length). */
  readonly macLength: number;
}

export const TSIG_ALGORITHMS: Readonly<Record<TsigAlgorithm, TsigAlgorithmInfo>> = {
  // The one name that is not the algorithm's own: HMAC-MD5 predates the registry (RFC 2845 §7).
  'hmac-md5': { wireName: 'hmac-md5.sig-alg.reg.int', hash: 'md5', macLength: 16 },
  'hmac-sha1': { wireName: 'hmac-sha1', hash: 'sha1', macLength: 20 },
  'hmac-sha224': { wireName: 'hmac-sha224', hash: 'sha224', macLength: 28 },
  'hmac-sha256': { wireName: 'hmac-sha256', hash: 'sha256', macLength: 32 },
  'hmac-sha384': { wireName: 'hmac-sha384', hash: 'sha384', macLength: 48 },
  'hmac-sha512': { wireName: 'hmac-sha512', hash: 'sha512', macLength: 64 },
};

const KNOWN = Object.keys(TSIG_ALGORITHMS) as TsigAlgorithm[];

const BY_WIRE_NAME = new Map<Name, TsigAlgorithm>(KNOWN.map((alg) => [TSIG_ALGORITHMS[alg].wireName, alg]));

/** The algorithm a TSIG RR names (canonical wire name), or undefined when we do not know it. */
export function tsigAlgorithmByWireName(name: Name): TsigAlgorithm | undefined {
  return BY_WIRE_NAME.get(name);
}

export interface TsigKey {
  /** The key's name: the owner name of the TSIG RR, how both ends find the secret. */
  readonly name: Name;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Buffer;
}

/** A key spec or key file that cannot be used; the message says what is wrong and where. */
export class TsigKeyError extends EtcdnsError {
  readonly code = 'ETCDNS_ERR_TSIG_KEY';
}

/**
 * The algorithm for a name as people write it: `hmac-sha256` or `HMAC-SHA256`, and the md5
 * one also by its wire name. Returns an error message listing the known ones otherwise.
 */
function algorithmFrom(text: string): TsigAlgorithm | string {
  const lower = text.toLowerCase();
  if ((KNOWN as string[]).includes(lower)) return lower as TsigAlgorithm;
  const byWire = BY_WIRE_NAME.get(lower.endsWith('.') ? lower.slice(0, -1) : lower);
  if (byWire) return byWire;
  return `unknown TSIG algorithm "${text}" (known: ${KNOWN.join(', ')})`;
}

function keyNameFrom(text: string): { name: Name } | { error: string } {
  // The root cannot name a key: it would be a key for every name.
  if (text === '' || text === '.') return { error: 'key name is empty' };
  const parsed = parseName(text);
  return 'error' in parsed ? { error: `bad key name: ${parsed.error}` } : parsed;
}

/** Decodes a base64 secret; strict, since Buffer.from silently drops what is not base64. */
function secretFrom(text: string): Buffer | string {
  if (text === '') return 'secret is empty';
  const secret = Buffer.from(text, 'base64');
  // Buffer.from skips invalid characters and accepts missing padding: a secret typed with a
  // stray character would silently become another key, so the text must be exactly the
  // canonical base64 of what it decodes to (what tsig-keygen and keymgr print). The secret
  // itself never goes into a message (messages reach logs): only where it is wrong.
  if (secret.toString('base64') !== text) {
    const bad = text.search(/[^A-Za-z0-9+/=]/);
    const where = bad >= 0 ? `character ${bad + 1} is not a base64 character` : 'wrong length or padding';
    return `secret is not base64 (${where}; it must read back the same, as tsig-keygen and keymgr print it)`;
  }
  if (secret.length === 0) return 'secret is empty';
  // A short secret can be found by trying: a 1-octet one fell to 43 online queries. 16 octets
  // (128 bits) is the floor; tsig-keygen and keymgr write as many as the hash gives (32 for
  // hmac-sha256), as RFC 8945 §6 recommends.
  if (secret.length < MIN_SECRET_OCTETS) return `secret is ${secret.length} octet${secret.length === 1 ? '' : 's'}; at least ${MIN_SECRET_OCTETS} are needed (generate one with tsig-keygen or keymgr -t)`;
  return secret;
}

/** Shortest secret accepted (RFC 8945 §6 recommends the hash's length: 32 octets for sha256). */
const MIN_SECRET_OCTETS = 16;

/**
 * Algorithms that still work but are weak (RFC 8945 §6: HMAC-MD5 and HMAC-SHA1 are kept for
 * compatibility only; use hmac-sha256): a warning at start names the key.
 */
export function isWeakTsigAlgorithm(algorithm: TsigAlgorithm): boolean {
  return algorithm === 'hmac-md5' || algorithm === 'hmac-sha1';
}

function clip(text: string): string {
  return text.length > 24 ? `${text.slice(0, 20)}…` : text;
}

/** Builds a key from its three parts, or says which part is wrong. */
function makeKey(name: string, algorithm: string, secret: string): TsigKey | string {
  const keyName = keyNameFrom(name);
  if ('error' in keyName) return keyName.error;
  const alg = algorithmFrom(algorithm);
  if (!isAlgorithm(alg)) return alg;
  const bytes = secretFrom(secret);
  if (typeof bytes === 'string') return `key ${JSON.stringify(name)}: ${bytes}`;
  return { name: keyName.name, algorithm: alg, secret: bytes };
}

function isAlgorithm(value: TsigAlgorithm | string): value is TsigAlgorithm {
  return (KNOWN as string[]).includes(value);
}

/**
 * Parses `name:algorithm:base64secret`, the form of a command-line flag. Only this order:
 * `dig -y` and keymgr's comment line write `algorithm:name:secret`, and accepting both would
 * make a key named like an algorithm ambiguous; such a spec gets an error saying so.
 */
export function parseTsigKeySpec(spec: string): TsigKey {
  const key = keyFromSpec(spec.trim());
  if (typeof key === 'string') throw new TsigKeyError(`TSIG key spec: ${key}`);
  return key;
}

function keyFromSpec(spec: string): TsigKey | string {
  const parts = spec.split(':');
  if (parts.length !== 3) return `expected name:algorithm:secret (three parts separated by ':'), got ${parts.length} part${parts.length === 1 ? '' : 's'}`;
  const [name, algorithm, secret] = parts as [string, string, string];
  const key = makeKey(name, algorithm, secret);
  if (typeof key === 'string' && isAlgorithm(algorithmFrom(name)) && !isAlgorithm(algorithmFrom(algorithm))) {
    return `${key}; the order is name:algorithm:secret (dig -y writes algorithm:name:secret)`;
  }
  return key;
}

/**
 * Parses a key file; `file` names it in error messages (`file:line: what`). Three forms: Knot
 * when a line is `key:` alone at column 0, BIND when a line starts `key NAME` or `key "`, else
 * lines:
 * - BIND (`tsig-keygen`, `rndc-confgen -a`, a named.conf include): `key "name" { algorithm
 *   hmac-sha256; secret "base64"; };`, any number, with `#`, `//` and C comments;
 * - Knot (`keymgr -t name` output, a knot.conf include): a YAML `key:` section of
 *   `- id: name` items with `algorithm:` and `secret:`;
 * - lines of `name:algorithm:secret` (the spec form), `#` comments.
 * Two keys of one name are an error: which secret to use would be a guess.
 */
export function parseTsigKeyFile(text: string, file: string): TsigKey[] {
  const form = fileForm(text);
  const found = form === 'bind' ? parseBind(text, file) : form === 'knot' ? parseKnot(text, file) : parseLines(text, file);
  const seen = new Map<Name, number>();
  for (const { key, line } of found) {
    const first = seen.get(key.name);
    if (first !== undefined) {
      throw new TsigKeyError(`${file}:${line}: key ${toPresentation(key.name)} is defined twice (first on line ${first})`);
    }
    seen.set(key.name, line);
  }
  return found.map((f) => f.key);
}

interface Found {
  readonly key: TsigKey;
  readonly line: number;
}

function fileForm(text: string): 'bind' | 'knot' | 'lines' {
  // A YAML section header stands alone at column 0; a key named "key" in the line form is
  // `key:alg:secret`, which has more on the line.
  if (/^key:[ \t]*(#.*)?$/m.test(text)) return 'knot';
  if (/^[ \t]*key[ \t]*("|[ \t]+[^\s:])/m.test(text)) return 'bind';
  return 'lines';
}

function fail(file: string, line: number, message: string): never {
  throw new TsigKeyError(`${file}:${line}: ${message}`);
}

function parseLines(text: string, file: string): Found[] {
  const out: Found[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const key = keyFromSpec(line);
    if (typeof key === 'string') fail(file, i + 1, key);
    out.push({ key, line: i + 1 });
  });
  if (out.length === 0) throw new TsigKeyError(`${file}: no TSIG keys found (expected BIND key statements, a Knot key: section or name:algorithm:secret lines)`);
  return out;
}

function stripYamlComment(line: string): string {
  // A comment starts at '#' at the line start or after whitespace (YAML 1.2 §6.6); base64
  // and key names never hold " #".
  const at = line.search(/(^|\s)#/);
  return (at < 0 ? line : line.slice(0, at)).trimEnd();
}

function unquoteYaml(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) return value.slice(1, -1);
  return value;
}

/** The `key:` sections of a Knot configuration: the subset of YAML that keymgr writes. */
function parseKnot(text: string, file: string): Found[] {
  const out: Found[] = [];
  let inKeys = false;
  let item: { line: number; fields: Map<string, string> } | undefined;
  const finish = (): void => {
    if (!item) return;
    const { line, fields } = item;
    const id = fields.get('id');
    const algorithm = fields.get('algorithm');
    const secret = fields.get('secret');
    if (id === undefined) fail(file, line, 'key item has no id');
    if (algorithm === undefined) fail(file, line, `key ${id} has no algorithm`);
    if (secret === undefined) fail(file, line, `key ${id} has no secret`);
    const key = makeKey(id, algorithm, secret);
    if (typeof key === 'string') fail(file, line, key);
    out.push({ key, line });
    item = undefined;
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const lineNo = i + 1;
    const line = stripYamlComment(raw);
    if (line.trim() === '') return;
    if (!/^\s/.test(line)) {
      finish();
      if (!/^key:\s*$/.test(line)) fail(file, lineNo, `only key: sections are read from a TSIG key file, found "${clip(line)}"`);
      inKeys = true;
      return;
    }
    if (!inKeys) fail(file, lineNo, 'indented line outside a key: section');
    let body = line.trim();
    if (body.startsWith('- ') || body === '-') {
      finish();
      item = { line: lineNo, fields: new Map() };
      body = body.slice(1).trim();
      if (body === '') return;
    }
    if (!item) fail(file, lineNo, 'expected a list item ("- id: name") in the key: section');
    const m = /^([a-z-]+):\s*(.*)$/.exec(body);
    if (!m) fail(file, lineNo, `expected "option: value", found "${clip(body)}"`);
    const [, option, value] = m as unknown as [string, string, string];
    if (option === 'comment') return;
    if (option !== 'id' && option !== 'algorithm' && option !== 'secret') fail(file, lineNo, `unknown key option "${option}" (expected id, algorithm, secret)`);
    if (item.fields.has(option)) fail(file, lineNo, `${option} given twice for one key`);
    item.fields.set(option, unquoteYaml(value));
  });
  finish();
  if (out.length === 0) throw new TsigKeyError(`${file}: the key: section has no keys`);
  return out;
}

interface Token {
  readonly kind: 'word' | 'string' | '{' | '}' | ';';
  readonly text: string;
  readonly line: number;
}

/** Tokens of named.conf syntax: words, "strings", braces, semicolons; comments dropped. */
function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const start = line;
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail(file, start, 'comment /* is never closed');
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(file, start, 'string is never closed');
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\n') line++;
        if (d === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', text: value, line: start });
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, text: c, line });
      i++;
    } else {
      const start = i;
      while (i < text.length && !/[\s{};"#]/.test(text[i]!) && !(text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line });
    }
  }
  return tokens;
}

function describe(token: Token | undefined): string {
  return token ? `"${clip(token.text)}"` : 'the end of the file';
}

/** `key NAME { algorithm ALG; secret "B64"; };` statements (BIND 9 ARM, "key Block Grammar"). */
function parseBind(text: string, file: string): Found[] {
  const tokens = tokenize(text, file);
  const out: Found[] = [];
  let at = 0;
  const lastLine = (): number => tokens[tokens.length - 1]?.line ?? 1;
  const next = (): Token | undefined => tokens[at++];
  const expect = (kind: Token['kind'], what: string): Token => {
    const token = next();
    if (!token || token.kind !== kind) fail(file, token?.line ?? lastLine(), `expected ${what}, found ${describe(token)}`);
    return token;
  };
  while (at < tokens.length) {
    const start = next()!;
    if (start.kind !== 'word' || start.text.toLowerCase() !== 'key') {
      fail(file, start.line, `only key statements are read from a TSIG key file, found ${describe(start)}`);
    }
    const nameToken = next();
    if (!nameToken || (nameToken.kind !== 'word' && nameToken.kind !== 'string')) fail(file, nameToken?.line ?? start.line, `expected the key's name after "key", found ${describe(nameToken)}`);
    expect('{', `"{" after key ${describe(nameToken)}`);
    const fields = new Map<string, Token>();
    for (;;) {
      const option = next();
      if (option?.kind === '}') break;
      if (!option || option.kind !== 'word') fail(file, option?.line ?? lastLine(), `expected algorithm, secret or "}" in key ${describe(nameToken)}, found ${describe(option)}`);
      const name = option.text.toLowerCase();
      if (name !== 'algorithm' && name !== 'secret') fail(file, option.line, `unknown option "${option.text}" in key ${describe(nameToken)} (expected algorithm, secret)`);
      if (fields.has(name)) fail(file, option.line, `${name} given twice in key ${describe(nameToken)}`);
      const value = next();
      if (!value || (value.kind !== 'word' && value.kind !== 'string')) fail(file, value?.line ?? option.line, `expected a value after ${name}, found ${describe(value)}`);
      fields.set(name, value);
      expect(';', `";" after the ${name} value`);
    }
    expect(';', `";" after the closing "}" of key ${describe(nameToken)}`);
    const algorithm = fields.get('algorithm');
    const secret = fields.get('secret');
    if (!algorithm) fail(file, start.line, `key ${describe(nameToken)} has no algorithm`);
    if (!secret) fail(file, start.line, `key ${describe(nameToken)} has no secret`);
    const keyName = keyNameFrom(nameToken.text);
    if ('error' in keyName) fail(file, nameToken.line, keyName.error);
    const alg = algorithmFrom(algorithm.text);
    if (!isAlgorithm(alg)) fail(file, algorithm.line, alg);
    const bytes = secretFrom(secret.text);
    if (typeof bytes === 'string') fail(file, secret.line, `key ${describe(nameToken)}: ${bytes}`);
    out.push({ key: { name: keyName.name, algorithm: alg, secret: bytes }, line: start.line });
  }
  if (out.length === 0) throw new TsigKeyError(`${file}: no key statements found`);
  return out;
}
