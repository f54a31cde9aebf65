/**
 * The start-up collection (app/warm-up.ts `collectGarbage`): one full collection, and a second,
 * compacting one only when the first left the old generation mostly holes.
 *
 * A full collection frees what starting left behind (an etcd list's responses, the warm-up's
 * replies) but moves live objects off only the most fragmented pages, so the pages it leaves
 * partly used stay committed. After a 1M-key sync that is ~160 MiB: old space 565-592 MiB
 * committed for 407 MiB live, RSS 735-765 MiB one second after /ready (docs/performance.md,
 * Memory). A compacting collection right after it packs the live objects and gives the pages
 * back: old space 414/407 MiB, RSS 578-585 MiB, for ~1.3 s more CPU at 1M keys, before /ready.
 * Compacting first, while the garbage is still there, would copy it too (peak RSS 1.35-1.47 GiB
 * against 1.15). At 100k keys and below the holes are a few MiB, and a compaction would only
 * delay /ready: hence the threshold.
 *
 * V8 has no API for "compact now": `--compact-on-every-full-gc` is set around the one call and
 * cleared after it, whatever happens.
 */
import * as v8 from 'node:v8';

/** Committed but unused old-space bytes above which the second, compacting collection runs. */
export const COMPACT_ABOVE_BYTES = 64 * 1024 * 1024;

/** What the start-up collection reads and sets of V8 (node:v8; a fake in tests). */
export interface HeapControl {
  getHeapSpaceStatistics(): readonly { readonly space_name: string; readonly space_size: number; readonly space_used_size: number }[];
  setFlagsFromString(flags: string): void;
}

/** What one start-up collection did, for the debug log. */
export interface StartUpCollection {
  /** Old-space bytes committed but unused after the first collection. */
  readonly holesBytes: number;
  readonly compacted: boolean;
}

/** The collection: `gc` is Node's (--expose-gc), `heap` node:v8 unless a test passes its own. */
export function startUpCollection(gc: () => void, heap: HeapControl = v8): () => StartUpCollection {
  return () => {
    gc();
    const old = heap.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    const holesBytes = old ? old.space_size - old.space_used_size : 0;
    if (holesBytes < COMPACT_ABOVE_BYTES) return { holesBytes, compacted: false };
    heap.setFlagsFromString('--compact-on-every-full-gc');
    try {
      gc();
    } finally {
      heap.setFlagsFromString('--no-compact-on-every-full-gc');
    }
    return { holesBytes, compacted: true };
  };
}
