import type { Command } from 'commander';
import { registerCredentialCommands } from '../credentials/cli.js';

/** Registers `authn serve`, `keys generate|bundle`, and (from credentials/) `hash-password`. */
export function registerAuthnCommands(program: Command): void {
  registerCredentialCommands(program);
}
