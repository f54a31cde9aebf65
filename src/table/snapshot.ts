import { parentName, type Name } from '../dns/name.js';
import type { ZoneView } from './zone.js';

/**
 * Everything etcdns answers from at one moment: the zones by apex. Immutable; the table swaps
 * in a new Snapshot whole when a source changes, so a query sees one consistent state.
 */
export class Snapshot {
  readonly zones: ReadonlyMap<Name, ZoneView>;
  /** Increases with every swap; lets caches tell snapshots apart cheaply. */
  readonly generation: number;
  /**
   * Increases only when the set of zone origins changes (a zone added or removed). A cached
   * answer stays right while the zones it was built from are the same objects, except when a
   * new, more specific zone takes over some of its names: this number tells caches that.
   */
  readonly zoneSetGeneration: number;

  constructor(zones: ReadonlyMap<Name, ZoneView>, generation: number, zoneSetGeneration = generation) {
    this.zones = zones;
    this.generation = generation;
    this.zoneSetGeneration = zoneSetGeneration;
  }

  /**
   * The zone with the longest origin that `name` is at or below: one Map lookup per label
   * (CoreDNS picks the most specific zone the same way).
   */
  findZone(name: Name): ZoneView | undefined {
    if (this.zones.size === 0) return undefined;
    for (let n: Name | undefined = name; n !== undefined; n = parentName(n)) {
      const zone = this.zones.get(n);
      if (zone) return zone;
    }
    return undefined;
  }

  static readonly empty = new Snapshot(new Map(), 0, 0);
}
