/**
 * Signed requests already accepted, for as long as their signature is valid (RFC 8945 §10:
 * TSIG alone does not stop a captured request from being sent again within its time window).
 * A request is identified by its MAC, which covers the whole message and its time: the same
 * MAC again is the same request again, from whatever address.
 *
 * Kept for zone transfers (and UPDATE, which changes data): a resolver retrying a signed
 * query over UDP sends the very same bytes, and refusing that would be wrong for a read of one
 * name. Bounded: past `maxEntries` the oldest are forgotten (only a holder of the key can add
 * entries, so this bounds memory, not an attacker's reach).
 */
export class TsigReplayCache {
  readonly #maxEntries: number;
  readonly #windowSeconds: number;
  /** MAC (base64) → until when (seconds) the request could be accepted; insertion order ≈ time order. */
  readonly #seen = new Map<string, number>();

  constructor(options: { windowSeconds: number; maxEntries?: number }) {
    this.#windowSeconds = options.windowSeconds;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /**
   * Records a request accepted at `nowSeconds`, signed at `timeSigned`; false when the same
   * MAC was accepted before and could still be valid (a replay).
   */
  accept(mac: Uint8Array, timeSigned: number, nowSeconds: number): boolean {
    this.#prune(nowSeconds);
    const id = Buffer.from(mac.buffer, mac.byteOffset, mac.byteLength).toString('base64');
    const until = this.#seen.get(id);
    if (until !== undefined && until >= nowSeconds) return false;
    if (this.#seen.size >= this.#maxEntries) this.#seen.delete(this.#seen.keys().next().value!);
    // A request is accepted while |now - timeSigned| <= window: remember it until then.
    this.#seen.set(id, timeSigned + this.#windowSeconds);
    return true;
  }

  /** Drops expired entries from the front (oldest first); stops at the first live one. */
  #prune(nowSeconds: number): void {
    for (const [id, until] of this.#seen) {
      if (until >= nowSeconds) break;
      this.#seen.delete(id);
    }
  }
}
