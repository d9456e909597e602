/** Entry of the single executable built by scripts/build-credential-provider.sh (see plugin.ts). */
import { main } from './plugin.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
