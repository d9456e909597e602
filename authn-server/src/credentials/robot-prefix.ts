/** Re-exported from common/robots.ts, its own file so the request parsers need not load the robots backend. */
export { ROBOT_PREFIX } from '../../../common/robots.js';
