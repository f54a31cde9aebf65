import { RRType } from '../dns/constants.js';
import type { Name } from '../dns/name.js';
import type { Node, RRset } from '../dns/records.js';
import type { ZoneCombiner } from './table.js';
import type { ZoneView } from './zone.js';

/**
 * One zone held by several sources, e.g. a zone file and etcd. Precedence, highest first
 * (the order sources were registered in the RecordTable):
 *
 * - The SOA is the first source's: negative answers and the serial come from one owner.
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

  constructor(layers: readonly ZoneView[]) {
    if (layers.length === 0) throw new Error('LayeredZone needs at least one layer');
    this.#layers = layers;
    this.origin = layers[0]!.origin;
    this.soa = layers[0]!.soa;
    this.source = layers.map((l) => l.source).join(' + ');
    // A DNAME in any layer may show through the merge below.
    this.hasDname = layers.some((l) => l.hasDname === true);
  }

  node(name: Name): Node | undefined {
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

export const layerZones: ZoneCombiner = (views) => new LayeredZone(views);
