/**
 * Load spreading on pre-encoded replies, without re-encoding per query:
 *
 * - Round robin of A and AAAA RRsets (answer and additional sections): the records of one
 *   RRset whose owners are all compression pointers to the same name are runs of equal-sized
 *   byte blocks, so rotating the run in place is a rotation of the RRset. The order of an
 *   RRset carries no meaning (RFC 2181 §5), and clients that connect to the first address
 *   (getaddrinfo callers, most HTTP clients) then spread over all of them.
 * - SRV records in the answer ordered per query for clients that take the first record: by
 *   priority, and within a priority by RFC 2782's weighted random selection, so the first
 *   record is chosen in proportion to its weight. A client that implements RFC 2782 itself
 *   re-sorts and is not harmed. SRV records differ in size and the additional section's
 *   addresses point at their (uncompressed, RFC 2782) targets, so the records are moved as
 *   blocks and those pointers re-aimed.
 *
 * A run whose records are not all the same size (an owner written out in full, which our
 * writer does only for a name not seen before) is left in written order.
 */

/** Records of one A/AAAA RRset as written: `count` blocks of `size` octets from `start`. */
interface RotatedRun {
  readonly start: number;
  readonly size: number;
  readonly count: number;
  /** Whether the run is in the additional section (dropped first when a reply must shrink). */
  readonly additional: boolean;
  /**
   * The run's bytes at each rotation (index = records shifted), kept as first made: a repeated
   * rotation is one memcpy. Absent for long runs, and for runs behind reordered SRV records,
   * whose owners point into those records and so change with the SRV order.
   */
  readonly rotations: (Uint8Array | undefined)[] | undefined;
}

/** Rotations of longer RRsets are made byte by byte every time. */
const MAX_KEPT_ROTATIONS = 16;

interface SrvBlock {
  readonly start: number;
  readonly length: number;
  readonly priority: number;
  readonly weight: number;
}

interface SrvOrder {
  readonly start: number;
  readonly end: number;
  /** Where the template ends (its whole body, before any OPT). */
  readonly templateEnd: number;
  /** In written order. */
  readonly blocks: readonly SrvBlock[];
  /** Weight per block, and block indexes sorted by priority (stable) with where each priority ends. */
  readonly weights: Int32Array;
  readonly byPriority: Int32Array;
  readonly groupEnds: Int32Array;
  /** Pointer offsets (outside the SRV records) paired with the offset each points at (inside). */
  readonly fixups: readonly number[];
  /**
   * For RRsets of up to MAX_CACHED_SRV records (at most 5! = 120 orders): the template's
   * bytes from the first SRV record to its end in each order drawn so far, pointers into the
   * records already re-aimed, by the order's rank. A repeated order is then one memcpy.
   */
  readonly variants: (Uint8Array | undefined)[] | undefined;
}

/** Larger SRV RRsets are reordered byte by byte every time (their orders are too many to keep). */
const MAX_CACHED_SRV = 5;
const FACTORIAL = [1, 1, 2, 6, 24, 120];

/** What a template may reorder per reply; `turn` is the round-robin position, one per template. */
export interface Spreading {
  readonly runs: readonly RotatedRun[];
  readonly srv: SrvOrder | undefined;
  turn: number;
}

/** One record as the template builder wrote it. */
export interface WrittenRecord {
  readonly name: string;
  readonly type: number;
  readonly start: number;
  readonly end: number;
  readonly additional: boolean;
  /** SRV only. */
  readonly priority?: number;
  readonly weight?: number;
}

const A = 1;
const AAAA = 28;
const SRV = 33;

/**
 * What of a template can be spread, from the records written (in order) and the writer's
 * compression pointers (pairs of offset, target). Undefined when nothing can: most replies.
 */
export function planSpreading(records: readonly WrittenRecord[], pointers: readonly number[], templateEnd: number): Spreading | undefined {
  const runs: RotatedRun[] = [];
  for (let i = 0; i < records.length; ) {
    const first = records[i]!;
    let j = i + 1;
    while (j < records.length && records[j]!.type === first.type && records[j]!.name === first.name && records[j]!.additional === first.additional) j++;
    if ((first.type === A || first.type === AAAA) && j - i > 1) {
      const size = first.end - first.start;
      let uniform = true;
      for (let k = i; k < j; k++) if (records[k]!.end - records[k]!.start !== size) uniform = false;
      if (uniform) runs.push({ start: first.start, size, count: j - i, additional: first.additional, rotations: undefined });
    }
    i = j;
  }
  const srv = planSrv(records.filter((r) => r.type === SRV && !r.additional), pointers, templateEnd);
  if (runs.length === 0 && !srv) return undefined;
  const kept = runs.map((r) =>
    r.count <= MAX_KEPT_ROTATIONS && (!srv || r.start + r.size * r.count <= srv.start) ? { ...r, rotations: new Array<Uint8Array | undefined>(r.count).fill(undefined) } : r,
  );
  return { runs: kept, srv, turn: 0 };
}

function planSrv(srvRecords: readonly WrittenRecord[], pointers: readonly number[], templateEnd: number): SrvOrder | undefined {
  if (srvRecords.length < 2) return undefined;
  // Contiguous (one RRset, written together) or nothing: anything else is not ours to reorder.
  for (let i = 1; i < srvRecords.length; i++) if (srvRecords[i]!.start !== srvRecords[i - 1]!.end) return undefined;
  const start = srvRecords[0]!.start;
  const end = srvRecords[srvRecords.length - 1]!.end;
  const fixups: number[] = [];
  for (let i = 0; i < pointers.length; i += 2) {
    const at = pointers[i]!;
    const target = pointers[i + 1]!;
    if (target < start || target >= end) continue;
    // Inside the records, pointers aim outside them (owners at the question or a CNAME
    // target; SRV targets are not compressed): they move with their block unchanged.
    if (at >= start && at < end) return undefined;
    fixups.push(at, target);
  }
  const blocks = srvRecords.map((r) => ({ start: r.start, length: r.end - r.start, priority: r.priority ?? 0, weight: r.weight ?? 0 }));
  const sorted = blocks.map((_, i) => i).sort((a, b) => blocks[a]!.priority - blocks[b]!.priority || a - b);
  const groupEnds: number[] = [];
  for (let i = 1; i <= sorted.length; i++) if (i === sorted.length || blocks[sorted[i]!]!.priority !== blocks[sorted[i - 1]!]!.priority) groupEnds.push(i);
  const n = blocks.length;
  return {
    start,
    end,
    templateEnd,
    blocks,
    weights: Int32Array.from(blocks, (b) => b.weight),
    byPriority: Int32Array.from(sorted),
    groupEnds: Int32Array.from(groupEnds),
    fixups,
    variants: n <= MAX_CACHED_SRV ? new Array<Uint8Array | undefined>(FACTORIAL[n]!).fill(undefined) : undefined,
  };
}

/** Reused scratch: replies are reordered one at a time, synchronously. */
let scratch = Buffer.allocUnsafe(4096);
let orderScratch = new Int32Array(64);
let startScratch = new Int32Array(64);

function orderOf(n: number): Int32Array {
  if (orderScratch.length < n) {
    orderScratch = new Int32Array(n);
    startScratch = new Int32Array(n);
  }
  return orderScratch;
}

function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  return scratch;
}

/**
 * Reorders `reply` (rendered from the template `spreading` belongs to) in place. `body` is
 * how much of the template the reply holds (the additional section may have been dropped to
 * fit); a truncated reply (question only) must not be passed. `random` returns [0, 1).
 */
export function spreadInPlace(reply: Buffer, spreading: Spreading, body: number, random: () => number): void {
  const turn = spreading.turn++;
  if (spreading.srv) orderSrv(reply, spreading.srv, body, random);
  for (const run of spreading.runs) {
    const end = run.start + run.size * run.count;
    if (end > body) continue;
    const step = turn % run.count;
    if (step === 0) continue;
    const kept = run.rotations?.[step];
    if (kept) {
      reply.set(kept, run.start);
      continue;
    }
    // Rotate left by `shift` octets: [a b c d] → [b c d a] on the first turn. Byte loops:
    // runs are tens of octets, and a partial Buffer.copy costs a native call and a view.
    const shift = step * run.size;
    const tmp = scratchOf(shift);
    const start = run.start;
    for (let i = 0; i < shift; i++) tmp[i] = reply[start + i]!;
    for (let i = start + shift; i < end; i++) reply[i - shift] = reply[i]!;
    for (let i = 0; i < shift; i++) reply[end - shift + i] = tmp[i]!;
    if (run.rotations) run.rotations[step] = Uint8Array.prototype.slice.call(reply, start, end);
  }
}

/**
 * RFC 2782 ("Usage rules"): lowest priority first; within a priority, repeatedly pick one of
 * the records not yet ordered with probability weight / remaining weight.
 */
function orderSrv(reply: Buffer, srv: SrvOrder, body: number, random: () => number): void {
  const order = drawOrder(srv, random);
  const variants = srv.variants;
  // A reply that lost its additional section to the size limit is rare: moved byte by byte.
  if (!variants || body !== srv.templateEnd) {
    moveBlocks(reply, srv, order, body);
    return;
  }
  const rank = rankOf(order, srv.blocks.length);
  const variant = variants[rank];
  if (variant) {
    reply.set(variant, srv.start);
    return;
  }
  // First time in this order: move the records in this reply, then keep the result.
  moveBlocks(reply, srv, order, body);
  variants[rank] = Uint8Array.prototype.slice.call(reply, srv.start, srv.templateEnd);
}

/** Lehmer rank of the first `n` entries of `order`, a permutation of 0..n-1: 0 ≤ rank < n!. */
function rankOf(order: Int32Array, n: number): number {
  let rank = 0;
  for (let i = 0; i < n; i++) {
    let smaller = 0;
    for (let j = i + 1; j < n; j++) if (order[j]! < order[i]!) smaller++;
    rank += smaller * FACTORIAL[n - 1 - i]!;
  }
  return rank;
}

/** Moves the SRV records into `order` and re-aims the pointers into them (below `body`). */
function moveBlocks(reply: Buffer, srv: SrvOrder, order: Int32Array, body: number): void {
  const blocks = srv.blocks;
  const n = blocks.length;
  const newStart = startScratch;
  const tmp = scratchOf(srv.end - srv.start);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const index = order[i]!;
    const b = blocks[index]!;
    newStart[index] = srv.start + at;
    for (let k = 0; k < b.length; k++) tmp[at + k] = reply[b.start + k]!;
    at += b.length;
  }
  for (let k = 0; k < at; k++) reply[srv.start + k] = tmp[k]!;
  for (let i = 0; i < srv.fixups.length; i += 2) {
    const pointerAt = srv.fixups[i]!;
    if (pointerAt + 2 <= body) reply.writeUInt16BE(reaimed(blocks, newStart, srv.fixups[i + 1]!), pointerAt);
  }
}

/** The pointer (0xC000 | offset) to what was at `target` before moveBlocks moved the records. */
function reaimed(blocks: readonly SrvBlock[], newStart: Int32Array, target: number): number {
  for (let k = 0; k < blocks.length; k++) {
    const b = blocks[k]!;
    if (target >= b.start && target < b.start + b.length) return 0xc000 | (newStart[k]! + target - b.start);
  }
  return 0xc000 | target;
}

/**
 * The order of one reply (in reused scratch: read it before the next call): priorities in
 * order, each priority's records drawn one by one with probability weight / remaining weight.
 * No allocation: this runs per reply.
 */
function drawOrder(srv: SrvOrder, random: () => number): Int32Array {
  const { weights, byPriority, groupEnds } = srv;
  const n = byPriority.length;
  const order = orderOf(n);
  for (let i = 0; i < n; i++) order[i] = byPriority[i]!;
  let from = 0;
  for (let e = 0; e < groupEnds.length; e++) {
    const to = groupEnds[e]!;
    let remaining = 0;
    for (let i = from; i < to; i++) remaining += weights[order[i]!]!;
    // Positions from..to-1 of `order` hold the group; each round moves the pick to `place`.
    for (let place = from; place < to - 1; place++) {
      // A draw in [0, remaining) lands in a record's share of the running sum: the first
      // record is chosen with probability weight / total, exactly. (RFC 2782 draws an integer
      // in [0, total], which gives a weight-0 record a sliver of a chance and skews the
      // others by 1/(total+1); with only zero weights left, written order.)
      if (remaining <= 0) break;
      const draw = random() * remaining;
      let pick = place;
      let sum = 0;
      for (let g = place; g < to; g++) {
        sum += weights[order[g]!]!;
        if (draw < sum) {
          pick = g;
          break;
        }
      }
      const chosen = order[pick]!;
      // Keep the others in their order: shift place..pick-1 one step right.
      for (let g = pick; g > place; g--) order[g] = order[g - 1]!;
      order[place] = chosen;
      remaining -= weights[chosen]!;
    }
    from = to;
  }
  return order;
}

/** Indexes into `blocks` in the order RFC 2782's selection gives (for tests and tools). */
export function weightedOrder(blocks: readonly { priority: number; weight: number }[], random: () => number): number[] {
  const plan = planSrv(
    blocks.map((b, i) => ({ name: '', type: SRV, start: i, end: i + 1, additional: false, priority: b.priority, weight: b.weight })),
    [],
    blocks.length,
  );
  if (!plan) return blocks.map((_, i) => i);
  return [...drawOrder(plan, random).subarray(0, blocks.length)];
}
