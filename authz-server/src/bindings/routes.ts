/**
 * Binding routes (admin token): `/add-role-binding`, `/delete-role-binding` (seed contract),
 * `GET /bindings?account=&role=&namespace=&q=&limit=&after=` (paged by id; account, role, namespace
 * exact; q a substring of any of the three) and
 * `GET /accounts/{account}/permissions` (effective permissions, variables filled in).
 */
import { Router } from 'express';
import { AuthzError, parseBody } from '../errors.js';
import { parseTemplate, substitute } from '../policy/pattern.js';
import type { Permission } from '../policy/permission.js';
import { jsonBody, type RouteContext } from '../routes/context.js';
import { ANONYMOUS, BindingQuerySchema, BindingSchema } from './schema.js';

const DEFAULT_PAGE = 1000;

function fill(p: Permission, account: string, namespace: string | null): Permission {
  const v = { account, namespace: namespace ?? undefined };
  const sub = (s: string | undefined): string | undefined => {
    if (s === undefined) return undefined;
    try {
      return substitute(parseTemplate(s), v);
    } catch {
      return s; // a stored pattern that no longer validates grants nothing; show it as written
    }
  };
  const out: Permission = { ...p };
  if (p.name !== undefined) out.name = sub(p.name);
  if (p.service !== undefined) out.service = sub(p.service);
  return out;
}

export function bindingRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.post('/add-role-binding', ctx.admin, jsonBody, async (req, res) => {
    const b = parseBody(BindingSchema, req.body);
    const { created, binding } = await ctx.store.addBinding(b);
    ctx.logger.info({ binding }, created ? 'binding added' : 'binding already present');
    res.status(created ? 201 : 200).json({ ok: true, created, binding, message: created ? 'binding added' : 'binding already exists' });
  });
  r.post('/delete-role-binding', ctx.admin, jsonBody, async (req, res) => {
    const b = parseBody(BindingSchema, req.body);
    const binding = await ctx.store.deleteBinding(b);
    ctx.logger.info({ binding }, 'binding deleted');
    res.json({ ok: true, binding, message: 'binding deleted' });
  });
  r.get('/bindings', ctx.admin, async (req, res) => {
    const q = parseBody(BindingQuerySchema, req.query);
    res.json(await ctx.store.listBindings({ account: q.account, role: q.role, namespace: q.namespace, contains: q.q || undefined, after: q.after, limit: q.limit ?? DEFAULT_PAGE }));
  });
  r.get('/accounts/:account/permissions', ctx.admin, async (req, res) => {
    const raw = typeof req.params.account === 'string' ? req.params.account : '';
    if (!raw) throw new AuthzError(400, 'invalid_request', 'account must not be empty', 'account');
    // `<anonymous>` in the path shows what requests without credentials get.
    const account = raw === ANONYMOUS ? '' : raw;
    const refs = await ctx.store.bindingsFor(account);
    const bindings = await Promise.all(
      refs.map(async (b) => {
        const role = await ctx.store.getRole(b.role_name);
        return { binding: b, role: b.role_name, permissions: (role?.permissions ?? []).map((p) => fill(p, account, b.namespace)) };
      }),
    );
    res.json({ account: raw, bindings });
  });
  return r;
}
