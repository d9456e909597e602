/**
 * Role routes: the seed contract `/add-role`, `/delete-role`, and resource style
 * `GET /roles`, `GET|PUT|DELETE /roles/{name}`. Re-adding a role replaces its permissions
 * (with `If-None-Match: *`, add-role and PUT only create).
 * Roles are global: writes need the admin token; an API token with `read` sees every role (roles
 * hold no secrets, and a namespace admin must see what it may bind).
 */
import { Router, type Request } from 'express';
import { adminOnly, needAbility } from '../auth/guard.js';
import { AuthzError, parseBody, parseParam } from '../errors.js';
import type { Permission } from '../policy/permission.js';
import { jsonBody, type RouteContext } from '../routes/context.js';
import { AddRoleSchema, DeleteRoleSchema, PutRoleSchema, RoleNameSchema } from './schema.js';

/** `If-None-Match: *` creates only (the console's New role): an existing role is a 409, never overwritten. */
const createOnly = (req: Request): boolean => req.headers['if-none-match'] === '*';

const nameParam = (raw: unknown): string => parseParam(RoleNameSchema, raw, 'name');

export function roleRoutes(ctx: RouteContext): Router {
  const r = Router();
  const writes = adminOnly('changing roles');
  const read = needAbility('read');
  const put = async (name: string, permissions: Permission[], onlyCreate: boolean) => {
    // Create-only is the insert's own conflict (unique name), not a check before it: of two concurrent creates one gets the 409.
    const { created } = await ctx.store.putRole(name, permissions, onlyCreate);
    ctx.logger.info({ role: name, created, permissions: permissions.length }, created ? 'role created' : 'role replaced');
    return {
      status: created ? 201 : 200,
      body: {
        ok: true,
        name,
        created,
        replaced: !created,
        message: created ? `role "${name}" created` : `role "${name}" replaced (its permissions were overwritten)`,
        permissions,
      },
    };
  };
  const remove = async (name: string, force: boolean) => {
    const { deleted_bindings } = await ctx.store.deleteRole(name, force);
    ctx.logger.info({ role: name, deleted_bindings }, 'role deleted');
    return { ok: true, name, deleted_bindings, message: `role "${name}" deleted` + (deleted_bindings ? ` with ${deleted_bindings} binding(s)` : '') };
  };

  r.post('/add-role', ctx.admin, writes, jsonBody, async (req, res) => {
    const body = parseBody(AddRoleSchema, req.body);
    const out = await put(body.name, body.permissions, createOnly(req));
    res.status(out.status).json(out.body);
  });
  r.post('/delete-role', ctx.admin, writes, jsonBody, async (req, res) => {
    const body = parseBody(DeleteRoleSchema, req.body);
    res.json(await remove(body.name, body.force === true));
  });
  r.get('/roles', ctx.admin, read, async (_req, res) => {
    res.json({ roles: await ctx.store.listRoles() });
  });
  r.get('/roles/:name', ctx.admin, read, async (req, res) => {
    const name = nameParam(req.params.name);
    const role = await ctx.store.getRole(name);
    if (!role) throw new AuthzError(404, 'role_not_found', `role "${name}" does not exist`, 'name');
    res.json({ ...role, binding_count: await ctx.store.countBindingsForRole(name) });
  });
  r.put('/roles/:name', ctx.admin, writes, jsonBody, async (req, res) => {
    const name = nameParam(req.params.name);
    const body = parseBody(PutRoleSchema, req.body);
    if (body.name !== undefined && body.name !== name) {
      throw new AuthzError(400, 'invalid_request', `name "${body.name}" in the body differs from "${name}" in the path`, 'name');
    }
    const out = await put(name, body.permissions, createOnly(req));
    res.status(out.status).json(out.body);
  });
  r.delete('/roles/:name', ctx.admin, writes, async (req, res) => {
    const name = nameParam(req.params.name);
    const extra = Object.keys(req.query).find((k) => k !== 'force');
    if (extra !== undefined) throw new AuthzError(400, 'invalid_request', `unknown query parameter "${extra}"`, extra);
    const force = req.query.force;
    if (force !== undefined && force !== 'true' && force !== 'false') {
      throw new AuthzError(400, 'invalid_request', 'force must be true or false', 'force');
    }
    res.json(await remove(name, force === 'true'));
  });
  return r;
}
