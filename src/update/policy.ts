/**
 * Who may change what by DNS UPDATE, in the spirit of BIND's `update-policy`: a TSIG key is
 * granted a name (`name`), a name and everything below it (`subdomain`) or the names a
 * wildcard matches (`wildcard *.hosts.example.test`: any name below hosts.example.test), for
 * some types or all. Nothing is granted by default. Unsigned updates from networks named with
 * --update-allow are the one exception, for local development.
 */
import { RRClass, RRType, typeCode, typeName } from '../dns/constants.js';
import { isSubdomain, parentName, parseName, toPresentation, type Name } from '../dns/name.js';
import type { UpdateRecord } from '../wire/update.js';

export type GrantKind = 'name' | 'subdomain' | 'wildcard';

/** One `--update-policy` entry: `KEY KIND NAME [TYPE ...]`. */
export interface Grant {
  readonly key: Name;
  readonly kind: GrantKind;
  readonly name: Name;
  /** Types the key may change; undefined: every type. */
  readonly types: ReadonlySet<number> | undefined;
}

/** Parses one `--update-policy` entry; throws an Error saying what is wrong with it. */
export function parseGrant(text: string): Grant {
  const words = text.trim().split(/\s+/);
  if (words.length < 3) throw new Error('expected KEY name|subdomain|wildcard NAME [TYPE ...]');
  const [keyText, kindText, nameText, ...typeTexts] = words as [string, string, string, ...string[]];
  const key = parseName(keyText);
  if ('error' in key) throw new Error(`key name "${keyText}": ${key.error}`);
  if (kindText !== 'name' && kindText !== 'subdomain' && kindText !== 'wildcard') throw new Error(`"${kindText}" is not name, subdomain or wildcard`);
  const name = parseName(nameText);
  if ('error' in name) throw new Error(`name "${nameText}": ${name.error}`);
  if (kindText === 'wildcard' && !name.name.startsWith('*.')) throw new Error(`a wildcard grant names a wildcard such as *.${nameText}`);
  const types = new Set<number>();
  for (const t of typeTexts) {
    const code = typeCode(t);
    if (code === undefined || code === RRType.ANY) throw new Error(`"${t}" is not a record type`);
    types.add(code);
  }
  return { key: key.name, kind: kindText, name: name.name, types: types.size > 0 ? types : undefined };
}

/** `parseGrant`'s input back, canonical (config identity and logs). */
export function formatGrant(g: Grant): string {
  return [toPresentation(g.key), g.kind, toPresentation(g.name), ...[...(g.types ?? [])].map(typeName)].join(' ');
}

function covers(g: Grant, name: Name): boolean {
  switch (g.kind) {
    case 'name':
      return name === g.name;
    case 'subdomain':
      return isSubdomain(name, g.name);
    case 'wildcard': {
      const below = parentName(g.name)!;
      return name !== below && isSubdomain(name, below);
    }
  }
}

export class UpdatePolicy {
  readonly #grants: readonly Grant[];
  readonly #unsigned: { allows(address: string): boolean };

  constructor(grants: readonly Grant[], unsignedFrom: { allows(address: string): boolean }) {
    this.#grants = grants;
    this.#unsigned = unsignedFrom;
  }

  /**
   * Why the update may not be made, or undefined when it may: signed with `key` (undefined:
   * unsigned), from `address`. Every record of the update section must be granted (RFC 2136
   * §3.3); a delete of every type at a name needs a grant of every type.
   */
  refusal(key: Name | undefined, address: string, updates: readonly UpdateRecord[]): string | undefined {
    if (key === undefined) return this.#unsigned.allows(address) ? undefined : 'unsigned update (sign it with a TSIG key that --update-policy names)';
    const grants = this.#grants.filter((g) => g.key === key);
    if (grants.length === 0) return `key ${toPresentation(key)} has no --update-policy grant`;
    for (const rr of updates) {
      const allTypes = rr.class === RRClass.ANY && rr.type === RRType.ANY;
      const ok = grants.some((g) => covers(g, rr.name) && (g.types === undefined || (!allTypes && g.types.has(rr.type))));
      if (!ok) return `key ${toPresentation(key)} may not change ${allTypes ? 'every type' : typeName(rr.type)} at ${toPresentation(rr.name)}`;
    }
    return undefined;
  }
}
