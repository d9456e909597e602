import type { Command } from 'commander';

/** Registers `authn serve`, `keys generate|bundle`, `hash-password`. */
export function registerAuthnCommands(program: Command): void {
  void program;
}
