import type { Command } from 'commander';

/** Registers `hash-password` (reads a password on stdin, prints a bcrypt hash). STUB. */
export function registerCredentialCommands(program: Command): void {
  void program;
}
