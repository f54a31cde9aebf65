/**
 * The values of a chosen few keys of the mirror, at the revision the mirror applied: what a
 * reader that needs values (not the index's parsed records) can take without asking etcd. DNS
 * UPDATE keeps its record keys here (src/update/writer.ts reads a name's records from it and
 * commits with compares that prove them current). Fed the same batches as the index, so after
 * a batch at revision R it holds exactly the chosen keys etcd held at R.
 *
 * Only chosen keys cost memory: at a million ordinary keys, a predicate that declines them keeps
 * nothing (a value is one latin1 string, lossless for any bytes, not a Buffer: a Buffer is an
 * object and a backing store of its own per key). Measured: 72 bytes of heap per kept key with a
 * 50-byte value (200,000 PTR-like keys; the key strings are the mirror's own, shared).
 */
import type { KeyChange, MirrorBatch } from './changes.js';

/** One key as etcd held it at the view's revision. */
export interface KeptKv {
  readonly key: string;
  readonly value: Uint8Array;
  readonly modRevision: number;
  /** Decimal lease ID; undefined for none. */
  readonly lease: string | undefined;
}

/** What readers see: the revision, one key, the kept keys directly below a key. */
export interface KeptValuesView {
  /** The revision the values reflect; undefined before the first full list. */
  readonly revision: number | undefined;
  get(key: string): KeptKv | undefined;
  /** Every kept key `parent/<label>` (one label more, no `/` in it). */
  children(parent: string): KeptKv[];
}

interface Kept {
  readonly value: string;
  readonly modRevision: number;
  readonly lease: string | undefined;
}

export class MirrorValues implements KeptValuesView {
  /** parent key (up to the last `/`) → key → value: a name's records are one lookup. */
  readonly #byParent = new Map<string, Map<string, Kept>>();
  #revision: number | undefined;
  #size = 0;

  /** `keep(key, lastSlash)`: whether to hold this key's value (`lastSlash`: index of its last `/`). Must depend on the key alone. */
  constructor(private readonly keep: (key: string, lastSlash: number) => boolean) {}

  get revision(): number | undefined {
    return this.#revision;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Applies one mirror batch (a reset replaces everything). Never throws: a batch it could not
   * apply whole leaves it without a revision until the next reset, so that no reader takes
   * values that miss a change for the revision's.
   */
  apply(batch: MirrorBatch): void {
    if (batch.reset) {
      this.#byParent.clear();
      this.#size = 0;
    } else if (this.#revision === undefined) {
      return;
    }
    try {
      for (const c of batch.changes) this.#change(c);
      this.#revision = batch.revision;
    } catch {
      this.#revision = undefined;
    }
  }

  #change(c: KeyChange): void {
    const slash = c.key.lastIndexOf('/');
    if (!this.keep(c.key, slash)) return;
    const parent = c.key.slice(0, slash);
    let siblings = this.#byParent.get(parent);
    if (c.type === 'put') {
      if (!siblings) this.#byParent.set(parent, (siblings = new Map()));
      const before = siblings.size;
      // The value is a view into the gRPC message: copied out (as latin1, byte for byte).
      siblings.set(c.key, { value: Buffer.from(c.value.buffer, c.value.byteOffset, c.value.byteLength).toString('latin1'), modRevision: c.modRevision, lease: c.lease });
      this.#size += siblings.size - before;
    } else if (siblings?.delete(c.key)) {
      this.#size--;
      if (siblings.size === 0) this.#byParent.delete(parent);
    }
  }

  get(key: string): KeptKv | undefined {
    const kept = this.#byParent.get(key.slice(0, key.lastIndexOf('/')))?.get(key);
    return kept && keptKv(key, kept);
  }

  children(parent: string): KeptKv[] {
    const siblings = this.#byParent.get(parent);
    return siblings ? [...siblings].map(([key, kept]) => keptKv(key, kept)) : [];
  }
}

function keptKv(key: string, kept: Kept): KeptKv {
  return { key, value: Buffer.from(kept.value, 'latin1'), modRevision: kept.modRevision, lease: kept.lease };
}
