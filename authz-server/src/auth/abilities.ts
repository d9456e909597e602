/**
 * What a scoped API token may be allowed to do. Kept apart from principal.ts (which compiles namespace
 * globs) so the console can offer the list as checkboxes without bundling the pattern engine.
 */
export const ABILITIES = ['read', 'robots:rotate', 'robots:manage', 'bindings:manage'] as const;
export type Ability = (typeof ABILITIES)[number];
