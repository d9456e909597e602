/** User names of robot accounts (kept by authz-server) start with this; its own file so the request parsers need not load the robots backend. */
export const ROBOT_PREFIX = 'robot:';
