/** Paths pino must never print: credentials in headers and request bodies. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
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
