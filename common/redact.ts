/** Paths pino must never print: credentials in headers and request bodies. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  // The console's CSRF token (authz-server/src/console/csrf.ts): useless without the cookie, but not for logs either.
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'refresh_token',
  '*.refresh_token',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
];
