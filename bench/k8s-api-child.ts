/**
 * Benchmark child: the SIMULATED Kubernetes API server (authn-server/test/k8s/api-sim.ts) seeded with
 * `N` Secrets `tollgate-registry` (namespaces ns-0 … ns-N-1, password pw-<i>). Prints `URL <url> TOKEN
 * <token>` when listening; runs until killed. A separate process so its memory is not counted as authn's.
 * An optional second argument makes every watch misbehave (`empty`, `error-after-200`, `hang`,
 * `proxy-hold`); on SIGTERM it prints `REQUESTS <lists> <watches>` before exiting.
 */
import { SimulatedKubeApi, type BrokenWatch } from '../authn-server/test/k8s/api-sim.js';

const n = Number(process.argv[2] ?? '10000');
const sim = new SimulatedKubeApi('tollgate-registry');
for (let i = 0; i < n; i++) sim.put(`ns-${i}`, 'tollgate-registry', { username: `ns-${i}`, password: `pw-${i}-${'x'.repeat(24)}` });
await sim.start();
// Broken only after the first list and watch have been served: the informer is synced, then suffers.
if (process.argv[3]) setTimeout(() => (sim.brokenWatch = process.argv[3] as BrokenWatch, sim.dropWatches()), 200);
process.stdout.write(`URL ${sim.url} TOKEN ${sim.token}\n`);
process.on('SIGTERM', () => {
  const watches = sim.requests.filter((r) => r.path.includes('watch=1')).length;
  process.stdout.write(`REQUESTS ${sim.requests.length - watches} ${watches}\n`, () => process.exit(0));
});
