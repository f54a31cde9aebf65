import type { Name } from '../dns/name.js';
import { Snapshot } from './snapshot.js';
import type { ZoneView } from './zone.js';

/** Combines the views several sources hold of one zone, highest precedence first. */
export type ZoneCombiner = (views: readonly ZoneView[]) => ZoneView;

/** Default: the source registered first owns the zone whole (one owner per zone, as in CoreDNS). */
const firstSourceWins: ZoneCombiner = (views) => views[0]!;

/**
 * The record table: the latest zones of every source, and the Snapshot built from them.
 * Sources publish their whole zone map; the table rebuilds and swaps the snapshot at once, so
 * readers never see half an update. The order sources are registered in is their precedence.
 */
export class RecordTable {
  readonly #sources = new Map<string, ReadonlyMap<Name, ZoneView>>();
  readonly #combine: ZoneCombiner;
  /** Listeners by the name their errors are reported under. */
  readonly #listeners = new Map<(snapshot: Snapshot) => void, string>();
  readonly #onListenerError: ((listener: string, error: unknown) => void) | undefined;
  /** The last combined view per origin and the views it was made of, reused while they are unchanged. */
  #combined = new Map<Name, { readonly views: readonly ZoneView[]; readonly view: ZoneView }>();
  #current: Snapshot = Snapshot.empty;

  /**
   * `onListenerError`: a listener threw (named as it was registered); the other listeners still
   * run and the source that published is not blamed. Without it, the first error is thrown
   * once every listener has run.
   */
  constructor(options: { sources: readonly string[]; combine?: ZoneCombiner; onListenerError?: (listener: string, error: unknown) => void }) {
    for (const id of options.sources) this.#sources.set(id, new Map());
    this.#combine = options.combine ?? firstSourceWins;
    this.#onListenerError = options.onListenerError;
  }

  get current(): Snapshot {
    return this.#current;
  }

  /** The zones `sourceId` published last, by origin. */
  sourceZones(sourceId: string): ReadonlyMap<Name, ZoneView> {
    const zones = this.#sources.get(sourceId);
    if (!zones) throw new Error(`unknown record source "${sourceId}"`);
    return zones;
  }

  /** Replaces everything `sourceId` holds and swaps in the new snapshot. */
  publish(sourceId: string, zones: ReadonlyMap<Name, ZoneView>): Snapshot {
    if (!this.#sources.has(sourceId)) throw new Error(`unknown record source "${sourceId}"`);
    this.#sources.set(sourceId, zones);
    const byOrigin = new Map<Name, ZoneView[]>();
    for (const sourceZones of this.#sources.values()) {
      for (const [origin, view] of sourceZones) {
        const list = byOrigin.get(origin);
        if (list) list.push(view);
        else byOrigin.set(origin, [view]);
      }
    }
    const merged = new Map<Name, ZoneView>();
    const combined = new Map<Name, { readonly views: readonly ZoneView[]; readonly view: ZoneView }>();
    for (const [origin, views] of byOrigin) {
      if (views.length === 1) {
        merged.set(origin, views[0]!);
        continue;
      }
      // A zone whose sources did not change keeps its combined view object, so that answers
      // cached for it (keyed by view identity) survive a change in another zone.
      const previous = this.#combined.get(origin);
      const view = previous && sameViews(previous.views, views) ? previous.view : this.#combine(views);
      combined.set(origin, { views, view });
      merged.set(origin, view);
    }
    this.#combined = combined;
    const before = this.#current;
    let sameZoneSet = merged.size === before.zones.size;
    if (sameZoneSet) for (const origin of merged.keys()) if (!before.zones.has(origin)) sameZoneSet = false;
    this.#current = new Snapshot(merged, before.generation + 1, sameZoneSet ? before.zoneSetGeneration : before.zoneSetGeneration + 1);
    this.#tellListeners(this.#current);
    return this.#current;
  }

  /** Called after every swap; `name` says whose listener it is in error reports. Returns an unsubscribe function. */
  onSwap(listener: (snapshot: Snapshot) => void, name = 'listener'): () => void {
    this.#listeners.set(listener, name);
    return () => this.#listeners.delete(listener);
  }

  #tellListeners(snapshot: Snapshot): void {
    let first: { error: unknown } | undefined;
    for (const [listener, name] of this.#listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        if (this.#onListenerError) this.#onListenerError(name, error);
        else first ??= { error };
      }
    }
    if (first) throw first.error;
  }
}

function sameViews(a: readonly ZoneView[], b: readonly ZoneView[]): boolean {
  return a.length === b.length && a.every((view, i) => view === b[i]);
}
