/**
 * Benchmark server process: `authz DB_FILE|POSTGRES_URL` runs the real createApp on the seeded store
 * (`authz-express DB_FILE|POSTGRES_URL`: the same app's express route only),
 * `bare` a bare express JSON route. Prints `PORT <n>` when listening; runs until killed.
 */
import express from 'express';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../common/logger.js';
import { createApp } from '../authz-server/src/app.js';
import { AuthzStore } from '../authz-server/src/store/decision-cache.js';
import { PostgresStore } from '../authz-server/src/store/postgres/index.js';
import { SqliteStore } from '../authz-server/src/store/sqlite/index.js';

const [mode, file] = process.argv.slice(2);
let app: RequestListener;
if ((mode === 'authz' || mode === 'authz-express') && file) {
  const engine = /^postgres(ql)?:\/\//.test(file) ? await PostgresStore.open({ url: file }) : SqliteStore.open(file);
  const store = await AuthzStore.create(engine);
  // Default log level, as in production: /authorized is logged at debug so it costs little.
  const served = createApp({ store, logger: createLogger({ name: 'authz-bench', level: 'info' }), tokens: { admin: 'bench-admin', client: 'bench-client' } });
  // `authz-express`: the same app with every request through express (the route before the fast path).
  app = mode === 'authz' ? served : served.express;
} else {
  const bare = express();
  app = bare;
  bare.post('/authorized', express.json(), (req, res) => {
    res.json({ allowed: true, actions: (req.body as { Actions?: string[] }).Actions ?? [] });
  });
}
const server = createServer(app).listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
});
// A clean exit on SIGTERM lets `node --cpu-prof` write its profile.
process.on('SIGTERM', () => process.exit(0));
