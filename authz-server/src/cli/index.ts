import type { Command } from 'commander';

/** Registers `authz serve`, `role …`, `binding …`, `check`, `export`, `import`. */
export function registerAuthzCommands(program: Command): void {
  void program;
}
