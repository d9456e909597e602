/**
 * Benchmark child: the SIMULATED Kubernetes API server (authn-server/test/k8s/api-sim.ts) seeded with
 * `N` Secrets `tollgate-registry` (namespaces ns-0 … ns-N-1, password pw-<i>). Prints `URL <url> TOKEN
 * <token>` when listening; runs until killed. A separate process so its memory is not counted as authn's.
 */
import { SimulatedKubeApi } from '../authn-server/test/k8s/api-sim.js';

const n = Number(process.argv[2] ?? '10000');
const sim = new SimulatedKubeApi('tollgate-registry');
for (let i = 0; i < n; i++) sim.put(`ns-${i}`, 'tollgate-registry', { username: `ns-${i}`, password: `pw-${i}-${'x'.repeat(24)}` });
await sim.start();
process.stdout.write(`URL ${sim.url} TOKEN ${sim.token}\n`);
process.on('SIGTERM', () => process.exit(0));
