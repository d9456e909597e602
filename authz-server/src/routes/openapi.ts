/** GET /openapi.json (open): an OpenAPI 3.1 description of every route. */
import { Router } from 'express';
import { ABILITIES, type Ability } from '../auth/principal.js';

/** `admin`: admin token only (an API token gets 403); `scoped`: admin token, or an API token with `ability` in the namespace concerned. */
type Auth = 'none' | 'admin' | 'client' | 'scoped';
interface Op {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  auth: Auth;
  /** For `scoped`: the ability an API token needs. */
  ability?: Ability;
  summary: string;
  body?: string;
  params?: string[];
  query?: string[];
  /** Replies besides 200/400/401/413, by status. */
  replies?: Record<string, string>;
}

const ROLE_404 = { '404': 'role_not_found' };
const FORBIDDEN =
  'forbidden: an API token lacks the ability, or the namespace is outside its scope, or the route is admin-only ({"error":{"code":"forbidden","message":names the missing ability or namespace,"field"?}})';

const OPS: Op[] = [
  { method: 'post', path: '/authorized', auth: 'client', summary: 'Decide a request: 200 when every action is granted, 403 with the granted subset otherwise', body: 'AuthorizedRequest', replies: { '403': 'Not every requested action is granted: {"allowed":false,"actions":[granted subset, sorted]}' } },
  { method: 'post', path: '/explain', auth: 'scoped', ability: 'read', summary: 'The decision plus which binding → role → permission granted each action, or why not', body: 'AuthorizedRequest' },
  { method: 'post', path: '/add-role', auth: 'admin', summary: 'Create or replace a role', body: 'AddRole', replies: { '201': 'Role created (200: replaced, "replaced":true)' } },
  { method: 'post', path: '/delete-role', auth: 'admin', summary: 'Delete a role (409 while bindings use it unless force)', body: 'DeleteRole', replies: { ...ROLE_404, '409': 'role_in_use: bindings use the role and force is not true' } },
  { method: 'post', path: '/add-role-binding', auth: 'scoped', ability: 'bindings:manage', summary: 'Bind an account (or account pattern) to a role, optionally in a namespace. Not for robot: accounts (400). An API token binds only in its namespaces and only roles contained in the namespace (403 field role_name otherwise)', body: 'Binding', replies: { '201': 'Binding added', ...ROLE_404 } },
  { method: 'post', path: '/delete-role-binding', auth: 'scoped', ability: 'bindings:manage', summary: 'Remove a binding', body: 'Binding', replies: { '404': 'role_not_found or binding_not_found' } },
  { method: 'get', path: '/roles', auth: 'scoped', ability: 'read', summary: 'List roles' },
  { method: 'get', path: '/roles/{name}', auth: 'scoped', ability: 'read', summary: 'Get a role', params: ['name'], replies: ROLE_404 },
  { method: 'put', path: '/roles/{name}', auth: 'admin', summary: 'Create or replace a role', params: ['name'], body: 'PutRole', replies: { '201': 'Role created (200: replaced, "replaced":true)' } },
  { method: 'delete', path: '/roles/{name}', auth: 'admin', summary: 'Delete a role', params: ['name'], query: ['force'], replies: { ...ROLE_404, '409': 'role_in_use: bindings use the role and force is not true' } },
  { method: 'get', path: '/bindings', auth: 'scoped', ability: 'read', summary: 'List bindings (paged by id; q: substring of account, role or namespace; an API token sees its namespaces\' only, in full pages)', query: ['account', 'role', 'namespace', 'q', 'limit', 'after'] },
  { method: 'get', path: '/accounts/{account}/permissions', auth: 'scoped', ability: 'read', summary: 'Effective permissions of an account (`<anonymous>` for anonymous)', params: ['account'] },
  { method: 'get', path: '/export', auth: 'admin', summary: 'Whole state as JSON' },
  { method: 'post', path: '/import', auth: 'admin', summary: 'Replace (default) or merge the whole state, atomically', query: ['mode'], body: 'State' },
  { method: 'post', path: '/robots', auth: 'scoped', ability: 'robots:manage', summary: 'Create a robot account robot:<namespace>+<name>; the secret is in this response only', body: 'CreateRobot', replies: { '201': 'Created: {account, secret, expires_at, actions}', '409': 'conflict: the robot exists' } },
  { method: 'get', path: '/robots', auth: 'scoped', ability: 'read', summary: 'List robots (no secrets, no hashes; an API token sees its namespaces\' only)', query: ['namespace'] },
  { method: 'get', path: '/robots/{account}', auth: 'scoped', ability: 'read', summary: 'One robot (as in the list: no secret, no hash); an API token needs read, robots:rotate or robots:manage in the robot\'s namespace', params: ['account'], replies: { '404': 'not_found: names the account' } },
  { method: 'post', path: '/robots/{account}/rotate', auth: 'scoped', ability: 'robots:rotate', summary: 'New secret; the previous one keeps working for overlap (default 24h)', params: ['account'], body: 'RotateRobot', replies: { '404': 'not_found' } },
  { method: 'delete', path: '/robots/{account}', auth: 'scoped', ability: 'robots:manage', summary: 'Delete a robot', params: ['account'], replies: { '404': 'not_found' } },
  { method: 'post', path: '/robots/verify', auth: 'client', summary: 'Check a robot secret (authn): {valid, known, credential_id?, namespace?, actions?, not_after?, generation?}; an unknown name is answered like a wrong secret', body: 'VerifyRobot' },
  { method: 'post', path: '/robots/lookup', auth: 'client', summary: 'Credential id of a robot\'s current secret (refresh tokens): {known, credential_id?, not_after?, generation?}', body: 'LookupRobot' },
  { method: 'post', path: '/tokens', auth: 'admin', summary: 'Create a scoped API token; the token is in this response only', body: 'CreateToken', replies: { '201': 'Created: {id, name, namespaces, abilities, created_at, expires_at, last_used_at, expired, token}', '409': 'conflict: a token of that name exists' } },
  { method: 'get', path: '/tokens', auth: 'admin', summary: 'List API tokens (never the token, never its hash)' },
  { method: 'delete', path: '/tokens/{name}', auth: 'admin', summary: 'Revoke an API token (401 on its next use)', params: ['name'], replies: { '404': 'not_found' } },
  {
    method: 'get',
    path: '/changes',
    auth: 'client',
    summary: 'Change feed (what authn caches by), text/event-stream',
    query: ['since', 'database'],
    replies: {
      '200':
        'Server-sent events. `hello {database_id, rev, heartbeat_ms}` first; then, with since=REV, every committed change after REV as ' +
        '`change {rev, kind: role|binding|robot|import|token, subject, detail}` (rev strictly increasing, the same on every replica of one database), ' +
        'or `reset {database_id, rev, reason}` when since is older than the revisions kept, ahead of the database, or database= names another one ' +
        '(drop everything learnt, continue from rev); new changes as they commit; `beat {rev}` after every read of the change log (at most 250 ms apart, ' +
        'only while the database answers). A client that falls 1 MiB behind is disconnected.',
    },
  },
  { method: 'get', path: '/healthz', auth: 'none', summary: 'Process is up' },
  { method: 'get', path: '/readyz', auth: 'none', summary: 'Database answers', replies: { '503': 'Database does not answer' } },
  { method: 'get', path: '/metrics', auth: 'admin', summary: 'Prometheus metrics' },
  { method: 'get', path: '/openapi.json', auth: 'none', summary: 'This document' },
];

const permission = {
  type: 'object',
  additionalProperties: false,
  required: ['actions'],
  properties: {
    request_type: { type: 'string', default: 'repository' },
    name: { type: 'string', description: 'glob (* ? within a segment, ** across) or /regex/; ${namespace} ${account} ${labels:KEY}' },
    service: { type: 'string' },
    ip: { type: 'string', description: 'IPv4/IPv6 address or CIDR' },
    actions: { type: 'array', items: { type: 'string' }, minItems: 1 },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
  },
};
const permissions = { oneOf: [{ $ref: '#/components/schemas/Permission' }, { type: 'array', items: { $ref: '#/components/schemas/Permission' } }] };
const binding = {
  type: 'object',
  additionalProperties: false,
  required: ['account_name', 'role_name'],
  properties: { account_name: { type: 'string' }, role_name: { type: 'string' }, namespace: { type: ['string', 'null'] } },
};

const schemas = {
  Permission: permission,
  AuthorizedRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['Account', 'Type', 'Name', 'Service', 'IP', 'Actions'],
    properties: {
      Account: { type: 'string' }, Type: { type: 'string' }, Name: { type: 'string' }, Service: { type: 'string' }, IP: { type: 'string' },
      Actions: { type: 'array', items: { type: 'string' } },
      Labels: { type: ['object', 'null'], additionalProperties: { type: 'array', items: { type: 'string' } } },
    },
  },
  AuthorizedResponse: {
    type: 'object',
    required: ['allowed', 'actions'],
    properties: { allowed: { type: 'boolean' }, actions: { type: 'array', items: { type: 'string' }, description: 'sorted; all requested when allowed, the granted subset otherwise' } },
  },
  AddRole: { type: 'object', additionalProperties: false, required: ['name', 'permissions'], properties: { name: { type: 'string' }, permissions } },
  PutRole: { type: 'object', additionalProperties: false, required: ['permissions'], properties: { name: { type: 'string' }, permissions } },
  DeleteRole: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, force: { type: 'boolean' } } },
  Binding: binding,
  State: {
    type: 'object',
    required: ['version', 'roles', 'bindings'],
    properties: {
      version: { const: 1 },
      roles: { type: 'array', items: { $ref: '#/components/schemas/AddRole' } },
      bindings: { type: 'array', items: { $ref: '#/components/schemas/Binding' } },
      robots: { type: 'object', description: 'hash_key (base64url) and accounts with their secret hashes; absent = robots left as they are' },
    },
  },
  CreateRobot: {
    type: 'object',
    additionalProperties: false,
    required: ['namespace', 'name', 'actions'],
    properties: {
      namespace: { type: 'string', description: 'RFC 1123 label' },
      name: { type: 'string', description: 'a-z, 0-9, "-", at most 63' },
      actions: { type: 'array', items: { enum: ['pull', 'push'] }, description: '["pull"] or ["pull","push"]' },
      ttl: { type: ['string', 'integer'], description: 'lifetime, 1h … 732d (e.g. "90d" or seconds); none = no expiry' },
    },
  },
  RotateRobot: { type: 'object', additionalProperties: false, properties: { overlap: { type: ['string', 'integer'], description: 'how long the previous secret keeps working, 0 … 30d, default 24h' } } },
  CreateToken: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'namespaces', 'abilities'],
    properties: {
      name: { type: 'string', description: '1-63 letters, digits, ".", "_", "-"' },
      namespaces: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'namespace names, globs (team-*), or ["*"]; none covering another' },
      abilities: { type: 'array', items: { enum: [...ABILITIES] }, minItems: 1 },
      ttl: { type: ['string', 'integer'], description: 'lifetime, 1m … 732d; none = no expiry' },
    },
  },
  VerifyRobot: { type: 'object', additionalProperties: false, required: ['account', 'secret'], properties: { account: { type: 'string' }, secret: { type: 'string' } } },
  LookupRobot: { type: 'object', additionalProperties: false, required: ['account'], properties: { account: { type: 'string' } } },
  Error: {
    type: 'object',
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
  },
};

function operation(op: Op): Record<string, unknown> {
  const err = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const decision = { content: { 'application/json': { schema: { $ref: '#/components/schemas/AuthorizedResponse' } } } };
  return {
    summary: op.summary,
    ...(op.ability ? { description: `An API token needs the ability "${op.ability}" in the namespace concerned.` } : {}),
    security: op.auth === 'none' ? [] : op.auth === 'scoped' ? [{ adminToken: [] }, { apiToken: [] }] : [{ [op.auth === 'admin' ? 'adminToken' : 'clientOrAdminToken']: [] }],
    parameters: [
      ...(op.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ],
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.body}` } } } } } : {}),
    responses: {
      '200': op.path === '/authorized' ? { description: 'Every requested action is granted', ...decision } : { description: 'OK' },
      ...Object.fromEntries(Object.entries(op.replies ?? {}).map(([status, description]) => [status, { description, ...(status === '403' && op.path === '/authorized' ? decision : status >= '400' ? err : {}) }])),
      ...(op.body ? { '400': { description: 'Invalid input (names the field)', ...err }, '413': { description: 'Body too large', ...err } } : {}),
      ...(op.auth !== 'none' ? { '401': { description: 'Missing, wrong, expired or revoked token', ...err } } : {}),
      ...(op.auth === 'admin' || op.auth === 'scoped' ? { '403': { description: FORBIDDEN, ...err } } : {}),
    },
  };
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPS) (paths[op.path] ??= {})[op.method] = operation(op);
  return {
    openapi: '3.1.0',
    info: { title: 'tollgate authz-server', version: '1' },
    paths,
    components: {
      schemas,
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'admin token' },
        apiToken: { type: 'http', scheme: 'bearer', description: 'scoped API token (tgt_…): its abilities in its namespaces; never accepted by /authorized' },
        clientOrAdminToken: { type: 'http', scheme: 'bearer', description: 'client token or admin token' },
      },
    },
  };
}

export function openApiRoutes(): Router {
  const doc = openApiDocument();
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  return r;
}
