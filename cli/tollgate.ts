/**
 * `tollgate` CLI root. Each area registers its own commands; this file only wires them.
 */
import { Command } from 'commander';
import { registerAuthzCommands } from '../authz-server/src/cli/index.js';
import { registerAuthnCommands } from '../authn-server/src/cli/index.js';
import { registerControllerCommand } from './controller/index.js';
import { registerProxyCommand } from '../proxy/src/cli.js';
import { registerCredentialProviderCommand } from './credential-provider/index.js';
import { registerStackCommands } from './stack/index.js';

const program = new Command('tollgate')
  .description('Container-registry token auth: authn-server, authz-server and their admin tools')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

registerAuthzCommands(program);
registerAuthnCommands(program);
registerProxyCommand(program);
registerStackCommands(program);
registerCredentialProviderCommand(program);
registerControllerCommand(program);

await program.parseAsync(process.argv);
