import { Store } from '../authz-server/src/store/index.js';
const s = Store.open('/tmp/authzprof/authz.db');
const accts = Array.from({ length: 200 }, (_, k) => `user-${k}`);
for (const round of [1, 2, 3]) {
  let t = performance.now();
  for (let i = 0; i < 100000; i++) s.bindings.forAccount(accts[i % 200]!);
  console.log('forAccount µs', ((performance.now() - t) * 1000) / 100000);
}
console.log(s.db.pragma('journal_mode', { simple: true }), s.db.pragma('cache_size', { simple: true }));
s.db.pragma('wal_checkpoint(TRUNCATE)');
let t = performance.now();
for (let i = 0; i < 100000; i++) s.bindings.forAccount(accts[i % 200]!);
console.log('after checkpoint µs', ((performance.now() - t) * 1000) / 100000);
