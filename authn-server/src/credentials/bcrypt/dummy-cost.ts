/**
 * The bcrypt cost of the dummy compare an unknown user gets. With one cost for everybody that is
 * the cost. With mixed costs a single dummy cost made users of the other costs stand out (a review
 * timed cost-5 and cost-12 users at 4.7 ms and 273 ms against 70 ms for unknown names), so each unknown
 * name gets a cost drawn from the loaded users' own mix, the same one every time: an unknown name then
 * looks like a user of that cost, and repeating the request does not tell them apart.
 *
 * The draw is keyed by a digest of every stored hash — stable across restarts and replicas (same
 * files, same draw) and unknown to outsiders, so nobody can precompute which names land on which
 * cost. What remains: a cost that few users have is also drawn for few unknown names, so it still
 * hints that a name is real; the server warns about mixed costs at every (re)load.
 */
import { createHash, createHmac } from 'node:crypto';

const DEFAULT_DUMMY_COST = 10;

export class DummyCosts {
  private costs: Array<[cost: number, count: number]> = [];
  private total = 0;
  private key = Buffer.alloc(32);

  /** Recomputes the mix from every table's cost counts and hash digest; returns the mix when costs are mixed. */
  update(tables: ReadonlyArray<{ costCounts: ReadonlyMap<number, number>; hashDigest: Buffer }>): Map<number, number> | undefined {
    const counts = new Map<number, number>();
    const key = createHash('sha256').update('tollgate dummy-cost v1');
    for (const t of tables) {
      for (const [cost, n] of t.costCounts) counts.set(cost, (counts.get(cost) ?? 0) + n);
      key.update(t.hashDigest);
    }
    this.costs = [...counts].sort((a, b) => a[0] - b[0]);
    this.total = this.costs.reduce((s, [, n]) => s + n, 0);
    this.key = key.digest();
    return this.costs.length > 1 ? counts : undefined;
  }

  /** Every cost a dummy compare may use (their hashes are made ahead of requests). */
  all(): number[] {
    return this.costs.length ? this.costs.map(([c]) => c) : [DEFAULT_DUMMY_COST];
  }

  costFor(user: string): number {
    if (this.costs.length === 0) return DEFAULT_DUMMY_COST;
    if (this.costs.length === 1) return this.costs[0]![0];
    let pick = createHmac('sha256', this.key).update(user).digest().readUInt32BE(0) % this.total;
    for (const [cost, n] of this.costs) {
      if (pick < n) return cost;
      pick -= n;
    }
    return this.costs[this.costs.length - 1]![0];
  }
}
