/** GET /openapi.json (open): an OpenAPI 3.1 description of every route. */
import { Router } from 'express';

type Auth = 'none' | 'admin' | 'client';
interface Op {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  auth: Auth;
  summary: string;
  body?: string;
  params?: string[];
  query?: string[];
}

const OPS: Op[] = [
  { method: 'post', path: '/authorized', auth: 'client', summary: 'Decide a request: 200 when every action is granted, 403 with the granted subset otherwise', body: 'AuthorizedRequest' },
  { method: 'post', path: '/explain', auth: 'admin', summary: 'The decision plus which binding → role → permission granted each action, or why not', body: 'AuthorizedRequest' },
  { method: 'post', path: '/add-role', auth: 'admin', summary: 'Create or replace a role', body: 'AddRole' },
  { method: 'post', path: '/delete-role', auth: 'admin', summary: 'Delete a role (409 while bindings use it unless force)', body: 'DeleteRole' },
  { method: 'post', path: '/add-role-binding', auth: 'admin', summary: 'Bind an account (or account pattern) to a role, optionally in a namespace', body: 'Binding' },
  { method: 'post', path: '/delete-role-binding', auth: 'admin', summary: 'Remove a binding', body: 'Binding' },
  { method: 'get', path: '/roles', auth: 'admin', summary: 'List roles' },
  { method: 'get', path: '/roles/{name}', auth: 'admin', summary: 'Get a role', params: ['name'] },
  { method: 'put', path: '/roles/{name}', auth: 'admin', summary: 'Create or replace a role', params: ['name'], body: 'PutRole' },
  { method: 'delete', path: '/roles/{name}', auth: 'admin', summary: 'Delete a role', params: ['name'], query: ['force'] },
  { method: 'get', path: '/bindings', auth: 'admin', summary: 'List bindings (paged by id)', query: ['account', 'role', 'namespace', 'limit', 'after'] },
  { method: 'get', path: '/accounts/{account}/permissions', auth: 'admin', summary: 'Effective permissions of an account (`<anonymous>` for anonymous)', params: ['account'] },
  { method: 'get', path: '/export', auth: 'admin', summary: 'Whole state as JSON' },
  { method: 'post', path: '/import', auth: 'admin', summary: 'Replace (default) or merge the whole state, atomically', query: ['mode'], body: 'State' },
  { method: 'get', path: '/healthz', auth: 'none', summary: 'Process is up' },
  { method: 'get', path: '/readyz', auth: 'none', summary: 'Database answers' },
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
    },
  },
  Error: {
    type: 'object',
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
  },
};

function operation(op: Op): Record<string, unknown> {
  const err = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return {
    summary: op.summary,
    security: op.auth === 'none' ? [] : [{ [op.auth === 'admin' ? 'adminToken' : 'clientOrAdminToken']: [] }],
    parameters: [
      ...(op.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...(op.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ],
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.body}` } } } } } : {}),
    responses: {
      '200': { description: 'OK' },
      ...(op.body ? { '400': { description: 'Invalid input (names the field)', ...err }, '413': { description: 'Body too large', ...err } } : {}),
      ...(op.auth !== 'none' ? { '401': { description: 'Missing or wrong token', ...err } } : {}),
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
