/**
 * What a robot may be given. Kept apart from schema.ts (zod) so the console can offer the list as
 * checkboxes without bundling zod.
 */
export const ROBOT_ACTIONS = ['pull', 'push'] as const;
export type RobotAction = (typeof ROBOT_ACTIONS)[number];
