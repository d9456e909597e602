/**
 * Binding routes: `/add-role-binding`, `/delete-role-binding` (seed contract),
 * `GET /bindings?account=&role=&namespace=&q=&limit=&after=` (paged by id; account, role, namespace
 * exact; q a substring of any of the three) and
 * `GET /accounts/{account}/permissions` (effective permissions, variables filled in).
 * Admin token: everything. API token: `read` lists the bindings of its namespaces; `bindings:manage`
 * adds and removes bindings in its namespaces, and binds only roles contained in the binding's
 * namespace (policy/containment.ts).
 */
import { Router, type Response } from 'express';
import { principalOf, requireAbility } from '../auth/guard.js';
import { inNamespaces } from '../auth/principal.js';
import { K8sNamespaceSchema } from '../common-schema.js';
import { AuthzError, parseBody, parseParam } from '../errors.js';
import { roleContainedIn } from '../policy/containment.js';
import { parseTemplate, substitute } from '../policy/pattern.js';
import type { Permission } from '../policy/permission.js';
import { jsonBody, type RouteContext } from '../routes/context.js';
import { ANONYMOUS, BindingQuerySchema, BindingSchema, NewBindingSchema, type BindingInput } from './schema.js';

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

/** An API token binds only in its namespaces (Kubernetes names), and only roles that stay inside them. */
async function checkScopedBind(ctx: RouteContext, res: Response, b: BindingInput): Promise<void> {
  const ns = b.namespace ?? null;
  requireAbility(res, 'bindings:manage', ns);
  if (principalOf(res).kind === 'admin') return;
  const namespace = parseParam(K8sNamespaceSchema, ns, 'namespace');
  const role = await ctx.store.getRole(b.role_name);
  if (!role) return; // the store answers 404 role_not_found
  const c = roleContainedIn(role.permissions, namespace);
  if (!c.contained) {
    throw new AuthzError(403, 'forbidden', `role "${b.role_name}" can reach outside namespace "${ns}" (permission #${c.index}: ${c.reason}); only the admin token may bind it`, 'role_name');
  }
}

export function bindingRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.post('/add-role-binding', ctx.admin, jsonBody, async (req, res) => {
    const b = parseBody(NewBindingSchema, req.body);
    await checkScopedBind(ctx, res, b);
    const { created, binding } = await ctx.store.addBinding(b);
    ctx.logger.info({ binding, by: principalOf(res).name }, created ? 'binding added' : 'binding already present');
    res.status(created ? 201 : 200).json({ ok: true, created, binding, message: created ? 'binding added' : 'binding already exists' });
  });
  r.post('/delete-role-binding', ctx.admin, jsonBody, async (req, res) => {
    const b = parseBody(BindingSchema, req.body);
    requireAbility(res, 'bindings:manage', b.namespace ?? null);
    const binding = await ctx.store.deleteBinding(b);
    ctx.logger.info({ binding, by: principalOf(res).name }, 'binding deleted');
    res.json({ ok: true, binding, message: 'binding deleted' });
  });
  r.get('/bindings', ctx.admin, async (req, res) => {
    const q = parseBody(BindingQuerySchema, req.query);
    const p = requireAbility(res, 'read', q.namespace);
    // An API token sees its namespaces' bindings only, filtered by the query itself: every page is full.
    const scope = p.kind === 'scoped' ? p.namespaces : undefined;
    res.json(await ctx.store.listBindings({ account: q.account, role: q.role, namespace: q.namespace, contains: q.q || undefined, scope, after: q.after, limit: q.limit ?? DEFAULT_PAGE }));
  });
  r.get('/accounts/:account/permissions', ctx.admin, async (req, res) => {
    const p = requireAbility(res, 'read');
    const raw = typeof req.params.account === 'string' ? req.params.account : '';
    if (!raw) throw new AuthzError(400, 'invalid_request', 'account must not be empty', 'account');
    // `<anonymous>` in the path shows what requests without credentials get.
    const account = raw === ANONYMOUS ? '' : raw;
    const refs = (await ctx.store.bindingsFor(account)).filter((b) => inNamespaces(p, b.namespace));
    const bindings = await Promise.all(
      refs.map(async (b) => {
        const role = await ctx.store.getRole(b.role_name);
        return { binding: b, role: b.role_name, permissions: (role?.permissions ?? []).map((x) => fill(x, account, b.namespace)) };
      }),
    );
    res.json({ account: raw, bindings });
  });
  return r;
}
