import { RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { Node, RRset } from '../dns/records.js';
import type { ZoneCombiner } from './table.js';
import { zoneSerial, type ZoneView } from './zone.js';

/**
 * One zone held by several sources, e.g. a zone file and etcd. Precedence, highest first
 * (the order sources were registered in the RecordTable):
 *
 * - The SOA is the first source's: negative answers come from one owner. Its serial is the sum
 *   of every layer's (mod 2^32, RFC 1982), so that it grows when any layer changes: a zone
 *   file's serial moves with its edits, an etcd zone's with every change, and a secondary
 *   that polls the SOA (or is sent a NOTIFY) must see both.
 * - At each name, an RRset of a type wins over the same type from lower sources; types only a
 *   lower source has are added. So a zone file can pin `www A` while etcd adds `www TXT`.
 * - A CNAME stands alone at its name (RFC 2181 §10.1): if the highest source with data at a
 *   name has a CNAME there, that is all the name has; a CNAME from a lower source is dropped
 *   when a higher one has other data at the name.
 * - A name exists if any source has it.
 */
class LayeredZone implements ZoneView {
  readonly origin: Name;
  readonly soa: RRset;
  readonly source: string;
  readonly hasDname: boolean;
  readonly #layers: readonly ZoneView[];
  #apex: Node | undefined;

  constructor(layers: readonly ZoneView[]) {
    if (layers.length === 0) throw new Error('LayeredZone needs at least one layer');
    this.#layers = layers;
    this.origin = layers[0]!.origin;
    this.soa = layers.length === 1 ? layers[0]!.soa : summedSerial(layers);
    this.source = layers.map((l) => l.source).join(' + ');
    // A DNAME in any layer may show through the merge below.
    this.hasDname = layers.some((l) => l.hasDname === true);
  }

  node(name: Name): Node | undefined {
    if (name === this.origin && this.#layers.length > 1) return (this.#apex ??= this.#apexNode());
    return this.#merged(name);
  }

  /** The merged apex with the summed SOA (what SOA queries and transfers see). */
  #apexNode(): Node {
    const apex = new Map(this.#merged(this.origin) ?? []);
    apex.set(RRType.SOA, this.soa);
    return apex;
  }

  #merged(name: Name): Node | undefined {
    let merged: Map<number, RRset> | undefined;
    let first: Node | undefined;
    for (const layer of this.#layers) {
      const node = layer.node(name);
      if (!node) continue;
      if (!first) {
        first = node;
        if (node.has(RRType.CNAME)) return node;
        continue;
      }
      for (const [type, set] of node) {
        if (type === RRType.CNAME || first.has(type) || merged?.has(type)) continue;
        merged ??= new Map(first);
        merged.set(type, set);
      }
    }
    return merged ?? first;
  }

  /** Every name any layer has, once, with the merged records (node() above). */
  *transferNodes(): IterableIterator<readonly [Name, Node]> {
    const seen = new Set<Name>();
    for (const layer of this.#layers) {
      for (const [name] of layer.transferNodes()) {
        if (seen.has(name)) continue;
        seen.add(name);
        const node = this.node(name);
        if (node && node.size > 0) yield [name, node];
      }
    }
  }
}

function summedSerial(layers: readonly ZoneView[]): RRset {
  const first = layers[0]!.soa;
  const data = first.records[0];
  if (!data || data.type !== RRType.SOA || !('serial' in data)) return first;
  let serial = 0;
  for (const layer of layers) serial = (serial + zoneSerial(layer)) >>> 0;
  return Object.freeze({ ...first, records: Object.freeze([{ ...data, serial }]) });
}

export const layerZones: ZoneCombiner = (views) => new LayeredZone(views);
