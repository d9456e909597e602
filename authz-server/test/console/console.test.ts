/**
 * The web console in real Chromium (playwright-core) against a real authz-server on a loopback port:
 * sign in, roles / bindings / robots / tokens / explain through the pages a user clicks, every form's
 * bad input shown beside its field with nothing written, a scoped API token's limits and its revoke, a
 * real cross-origin CSRF attempt, expiry and return, sign-out killing the session, keyboard-only use,
 * axe-core, 10,000 bindings, and the screenshots docs/console.md shows.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createLogger } from '../../../common/logger.js';
import { createApp } from '../../src/app.js';
import { AuthzStore } from '../../src/store/decision-cache.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { ADMIN, CLIENT, ROOT, tempDir } from '../helpers.js';
import { axeProblems, buildConsole, launch } from './browser.js';

const SHOTS = join(ROOT, 'docs', 'console');
const REGISTRY = 'registry.example.com:5000';

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('web console in Chromium (real authz-server)', function () {
  this.timeout(60_000);
  const tmp = tempDir();
  let raw: SqliteStore;
  let store: AuthzStore;
  let server: Server;
  let base = '';
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const addRoleOrigins: string[] = [];
  const cspViolations: string[] = [];

  before(async function () {
    this.timeout(90_000);
    console.log(`      ${buildConsole(join(tmp.dir, 'console'))}`);
    raw = SqliteStore.open(join(tmp.dir, 'authz.db'));
    store = await AuthzStore.create(raw);
    const app = createApp({
      store,
      logger: createLogger({ name: 'authz-test', level: 'silent' }),
      tokens: { admin: ADMIN, client: CLIENT },
      console: { assetsDir: join(tmp.dir, 'console'), registryHost: REGISTRY, services: ['tollgate-registry'] },
    });
    ({ server, url: base } = await listen((req, res) => {
      if (req.url?.startsWith('/ui/api/add-role')) addRoleOrigins.push(String(req.headers.origin));
      app(req, res);
    }));
    browser = await launch();
    ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => void (/Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text())));
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await store?.close();
    tmp.cleanup();
  });

  /** The alert's text once it matches (a re-render may still be on its way), else the assertion fails with the last text. */
  const alertIn = async (scope: Page | ReturnType<Page['locator']>, re: RegExp): Promise<void> => {
    let last = '';
    for (const t0 = Date.now(); Date.now() - t0 < 5000; await new Promise((r) => setTimeout(r, 50))) {
      last = (await scope.getByRole('alert').allInnerTexts()).join('\n');
      if (re.test(last)) return;
    }
    assert.match(last, re);
  };
  const shows = async (loc: ReturnType<Page['locator']>, re: RegExp): Promise<void> => {
    let last = '';
    for (const t0 = Date.now(); Date.now() - t0 < 5000; await new Promise((r) => setTimeout(r, 50))) {
      last = (await loc.allInnerTexts()).join('\n');
      if (re.test(last)) return;
    }
    assert.match(last, re);
  };
  /** The REST API (not the console), as a script would call it. */
  const rest = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  /** The texts a control is described by (its hint and the error beside it, through aria-describedby). */
  const describedBy = (loc: ReturnType<Page['locator']>): Promise<string> =>
    loc.evaluate((el: { getAttribute(n: string): string | null; ownerDocument: { getElementById(id: string): { textContent: string | null } | null } }) =>
      (el.getAttribute('aria-describedby') ?? '').split(' ').map((id) => el.ownerDocument.getElementById(id)?.textContent ?? '').join('\n'),
    );
  const shot = (name: string, mask: ReturnType<Page['locator']>[] = []) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, mask });
  const clean = async (what: string) => assert.deepEqual(await axeProblems(page), [], `axe on ${what}`);
  const signIn = async (token = ADMIN) => {
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  it('a wrong token is refused beside the Token field; the right one signs in, and the token is kept nowhere', async () => {
    await page.goto(`${base}/ui/`);
    await page.getByLabel('Token').waitFor();
    await clean('sign-in');
    await shot('sign-in');
    await signIn('not-the-admin-token');
    await alertIn(page, /wrong token/);
    await signIn();
    await page.getByRole('heading', { name: 'Roles' }).waitFor();
    const storage = String(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href + document.cookie'));
    assert.ok(!storage.includes(ADMIN), 'token not in storage, URL or a readable cookie');
    const [cookie] = await ctx.cookies(`${base}/ui/`);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.path, '/ui');
    assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 1, 'the admin is offered Tokens before the first one exists');
  });

  it('Roles: bad input is shown beside its field and writes nothing; a role is created; a duplicate is refused', async () => {
    await page.getByRole('button', { name: 'New role' }).click();
    const form = page.getByRole('form', { name: 'New role' });
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /name: must not be empty/);
    await form.getByLabel('Name', { exact: true }).fill('puller');
    await form.getByLabel('Permissions').fill('[{"actions": ');
    await alertIn(form, /not valid JSON/);
    await form.getByLabel('Permissions').fill('[{"name": "/(unclosed/", "actions": ["pull"]}]');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /permissions\[0\]\.name: invalid pattern/);
    await form.getByLabel('Name', { exact: true }).fill('x'.repeat(129));
    await form.getByLabel('Permissions').fill('[{"name": "${namespace}/*", "actions": ["pull"]}]');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /at most 128/);
    assert.equal((await store.listRoles()).length, 0, 'nothing written');
    await form.getByLabel('Name', { exact: true }).fill('puller');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'puller', exact: true }).waitFor();
    await shows(page.getByRole('row', { name: /puller/ }), /pull on \$\{namespace\}\/\*/);
    await page.getByRole('button', { name: 'New role' }).click();
    await form.getByLabel('Name', { exact: true }).fill('puller');
    await form.getByLabel('Permissions').fill('[{"actions": ["*"]}]');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /already exists/);
    assert.deepEqual((await store.getRole('puller'))?.permissions, [{ name: '${namespace}/*', actions: ['pull'] }], 'the duplicate did not overwrite');
    await clean('roles');
    await shot('roles');
  });

  it('Bindings: bad input beside its field; a binding is saved with a role from the select, filtered and deleted', async () => {
    await page.getByRole('link', { name: 'Bindings' }).click();
    await page.getByRole('button', { name: 'New binding' }).click();
    const form = page.getByRole('form', { name: 'New binding' });
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /account_name: must not be empty/);
    await form.getByLabel('Account').fill('/(unclosed/');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /invalid account pattern/);
    await form.getByLabel('Account').fill('alice');
    await form.getByLabel('Namespace').fill(' team-a');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /namespace: must not start or end with whitespace/);
    assert.equal(await store.countBindings(), 0, 'nothing written');
    assert.equal(await form.getByLabel('Role').inputValue(), 'puller');
    await form.getByLabel('Namespace').fill('team-a');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'alice', exact: true }).waitFor();
    await page.getByRole('button', { name: 'New binding' }).click();
    await form.getByLabel('Account').fill('alice');
    await form.getByLabel('Namespace').fill('team-a');
    await form.getByRole('button', { name: 'Save' }).click();
    await alertIn(form, /already exists/);
    await form.getByLabel('Account').fill('bob');
    await form.getByLabel('Namespace').fill('team-b');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'bob', exact: true }).waitFor();
    await page.getByLabel('Filter').fill('team-b');
    await page.waitForURL(/q=team-b/);
    await page.getByRole('cell', { name: 'alice', exact: true }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: /Delete binding bob/ }).click();
    await page.getByRole('cell', { name: 'bob', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await store.countBindings(), 1);
    await page.getByLabel('Filter').fill('');
    await page.getByRole('cell', { name: 'alice', exact: true }).waitFor();
    await clean('bindings');
    await shot('bindings');
  });

  let robotSecret = '';
  it('Robots: bad input beside its field; the secret is shown once with Copy, docker login and .dockerconfigjson; rotate with an overlap', async () => {
    await page.getByRole('link', { name: 'Robots' }).click();
    await page.getByRole('button', { name: 'New robot' }).click();
    const form = page.getByRole('form', { name: 'New robot' });
    await form.getByLabel('Namespace').fill('Team_A');
    await form.getByLabel('Name', { exact: true }).fill('ci');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /namespace: must be a Kubernetes namespace name/);
    await form.getByLabel('Namespace').fill('team-a');
    await form.getByLabel('pull').uncheck();
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /actions/);
    await form.getByLabel('pull').check();
    await form.getByLabel('push').check();
    await form.getByLabel('Expires after').fill('forever');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /ttl/);
    assert.equal((await raw.robots.list()).length, 0, 'nothing written');
    await form.getByLabel('Expires after').fill('30d');
    await form.getByRole('button', { name: 'Create' }).click();
    const secretBox = page.getByRole('region', { name: 'New secret' });
    robotSecret = await secretBox.getByLabel('Secret').inputValue();
    assert.match(robotSecret, /^\S{20,}$/);
    assert.match(await secretBox.getByLabel('docker login').inputValue(), new RegExp(`docker login ${REGISTRY} --username 'robot:team-a\\+ci' --password-stdin`));
    const cfg = JSON.parse(await secretBox.getByLabel('.dockerconfigjson').inputValue()) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(cfg.auths[REGISTRY]?.auth ?? '', 'base64').toString(), `robot:team-a+ci:${robotSecret}`);
    await secretBox.getByRole('button', { name: 'Copy' }).waitFor();
    await clean('robots with secret');
    // No secret-shaped string in a committed picture (scanners flag it): the three fields are masked.
    await shot('robot-secret', [secretBox.getByLabel('Secret'), secretBox.getByLabel('docker login'), secretBox.getByLabel('.dockerconfigjson')]);
    await page.getByRole('button', { name: 'New robot' }).click();
    await form.getByLabel('Namespace').fill('team-a');
    await form.getByLabel('Name', { exact: true }).fill('ci');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /already exists/);
    await page.reload();
    await page.getByRole('cell', { name: 'robot:team-a+ci', exact: true }).waitFor();
    assert.ok(!(await page.content()).includes(robotSecret), 'the secret is not shown again');
    await page.getByRole('button', { name: 'Rotate robot:team-a+ci' }).click();
    const rot = page.getByRole('form', { name: 'Rotate robot:team-a+ci' });
    await rot.getByLabel('Overlap').fill('99y');
    await rot.getByRole('button', { name: 'Rotate' }).click();
    await alertIn(rot, /overlap/);
    await rot.getByLabel('Overlap').fill('1h');
    await rot.getByRole('button', { name: 'Rotate' }).click();
    const rotated = await page.getByRole('region', { name: 'New secret' }).getByLabel('Secret').inputValue();
    assert.notEqual(rotated, robotSecret);
    await shows(page.getByRole('row', { name: /robot:team-a\+ci/ }), /\d{4}-\d\d-\d\dT/);
    robotSecret = rotated;
  });

  it('Tokens: bad input beside its field; a token is shown once and works; a duplicate is refused; Revoke asks, then the token is dead', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByText('0 token(s)').waitFor();
    await page.getByRole('button', { name: 'New token' }).click();
    const form = page.getByRole('form', { name: 'New token' });
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /name: must be 1-63 letters/);
    assert.match(await describedBy(form.getByLabel('Name', { exact: true })), /name: must be 1-63 letters/);
    await form.getByLabel('Name', { exact: true }).fill('team-b-reader');
    await form.getByLabel('Namespaces').fill('team-b, team-*');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /"team-b" overlaps "team-\*"/);
    assert.match(await describedBy(form.getByLabel('Namespaces')), /overlaps/);
    await form.getByLabel('Namespaces').fill('team-b');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /give at least one ability/);
    await form.getByLabel('read', { exact: true }).check();
    await form.getByLabel('Expires in').fill('forever');
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /ttl/);
    assert.match(await describedBy(form.getByLabel('Expires in')), /ttl/);
    assert.deepEqual(await raw.listApiTokens(), [], 'nothing written');
    await form.getByLabel('Expires in').fill('90d');
    await form.getByRole('button', { name: 'Create' }).click();
    const shown = page.getByRole('region', { name: 'New secret' });
    const token = await shown.getByLabel('Token').inputValue();
    assert.match(token, /^tgt_[A-Za-z0-9_-]{43}$/);
    assert.equal((await rest('GET', '/roles', token)).status, 200, 'the token shown works against the REST API');
    assert.equal((await rest('POST', '/add-role', token, { name: 'x', permissions: [{ actions: ['pull'] }] })).status, 403, 'within its abilities only');
    await clean('tokens with a new token');
    await shot('token-created', [shown.getByLabel('Token')]);
    await shown.getByRole('button', { name: 'Done' }).click();
    await shows(page.getByRole('row', { name: /team-b-reader/ }), /team-b\s+read\s+\d{4}-\d\d-\d\dT/);
    assert.ok(!(await page.content()).includes(token), 'the token is not shown again');
    await page.getByRole('button', { name: 'New token' }).click();
    await form.getByLabel('Name', { exact: true }).fill('team-b-reader');
    await form.getByLabel('Namespaces').fill('team-c');
    await form.getByLabel('read', { exact: true }).check();
    await form.getByRole('button', { name: 'Create' }).click();
    await alertIn(form, /already exists/);
    assert.match(await describedBy(form.getByLabel('Name', { exact: true })), /already exists/);
    assert.deepEqual((await raw.listApiTokens()).map((t) => t.namespaces), [['team-b']], 'the duplicate changed nothing');
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByRole('button', { name: 'Revoke team-b-reader' }).click();
    const confirm = page.getByRole('group', { name: 'Revoke team-b-reader' });
    await confirm.getByRole('button', { name: 'Confirm revoke' }).waitFor();
    await clean('tokens with a revoke to confirm');
    await shot('tokens');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await rest('GET', '/roles', token)).status, 200, 'Cancel revokes nothing');
    await page.getByRole('button', { name: 'Revoke team-b-reader' }).click();
    await confirm.getByRole('button', { name: 'Confirm revoke' }).click();
    await page.getByRole('cell', { name: 'team-b-reader', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await rest('GET', '/roles', token)).status, 401, 'revoked: the next request is refused');
  });

  it('Explain: an allowed and a denied pull in words with the binding → role → permission chain, robots included', async () => {
    await page.getByRole('link', { name: 'Explain' }).click();
    const form = page.getByRole('form', { name: 'Explain a request' });
    assert.equal(await form.getByLabel('Service').inputValue(), 'tollgate-registry');
    await form.getByLabel('Account').fill('alice');
    await form.getByLabel('Repository').fill('team-a/app');
    await form.getByLabel('Actions').fill('pull, push');
    await form.getByRole('button', { name: 'Explain' }).click();
    const answer = page.getByRole('region', { name: 'Answer' });
    await shows(answer, /pull: allowed/);
    await shows(answer, /binding alice → role puller \(namespace team-a\) → permission #0: pull on \$\{namespace\}\/\*/);
    await shows(answer, /push: denied — no permission of the 1 binding\(s\) considered grants push/);
    await clean('explain');
    await shot('explain');
    await form.getByLabel('Repository').fill('team-b/app');
    await form.getByLabel('Actions').fill('pull');
    await form.getByRole('button', { name: 'Explain' }).click();
    await shows(answer, /pull: denied[\s\S]*does not match/);
    await form.getByLabel('Account').fill('robot:team-a+ci');
    await form.getByLabel('Repository').fill('team-a/app');
    await form.getByRole('button', { name: 'Explain' }).click();
    await shows(answer, /pull: allowed by the robot's own grant/);
    await form.getByLabel('Repository').fill('Team-A/App');
    await form.getByRole('button', { name: 'Explain' }).click();
    await alertIn(form, /Name/);
    await form.getByLabel('Labels').fill('oops');
    await form.getByRole('button', { name: 'Explain' }).click();
    await alertIn(form, /labels: "oops" is not key=value/);
  });

  it('a cross-origin page cannot change anything (the cookie rides along, the request is refused)', async () => {
    const evil = await listen((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<script>fetch(${JSON.stringify(base)} + '/ui/api/add-role', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'evil', permissions: [{ actions: ['*'] }] }) }).finally(() => { document.title = 'sent'; });</script>`);
    });
    try {
      const other = await ctx.newPage();
      addRoleOrigins.length = 0;
      await other.goto(`${evil.url}/`);
      await other.waitForFunction("document.title === 'sent'", undefined, { timeout: 10_000 });
      await other.close();
      assert.deepEqual(addRoleOrigins, [evil.url], 'the request reached the server, from the other origin');
      assert.equal(await store.getRole('evil'), undefined);
    } finally {
      await new Promise((r) => evil.server.close(r));
    }
  });

  it('a scoped API token (team-a: read, robots:manage) signs in and sees and changes only its scope; revoking it ends its session', async () => {
    const made = await rest('POST', '/tokens', ADMIN, { name: 'team-a-robots', namespaces: ['team-a'], abilities: ['read', 'robots:manage'] });
    assert.equal(made.status, 201);
    assert.equal((await rest('POST', '/robots', ADMIN, { namespace: 'team-b', name: 'deploy', actions: ['pull'] })).status, 201);
    const scopedCtx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    try {
      const sp = await scopedCtx.newPage();
      sp.setDefaultTimeout(10_000);
      await sp.goto(`${base}/ui/`);
      await sp.getByLabel('Token').fill(made.body.token);
      await sp.getByRole('button', { name: 'Sign in' }).click();
      await sp.getByRole('heading', { name: 'Roles' }).waitFor();
      await sp.getByText('Signed in as team-a-robots').waitFor();
      assert.equal(await sp.getByRole('link', { name: 'Tokens' }).count(), 0, 'API tokens are the admin\'s: no Tokens link');

      // Roles: global, readable with `read`; writing one needs the admin token.
      await sp.getByRole('cell', { name: 'puller', exact: true }).waitFor();
      await sp.getByRole('button', { name: 'New role' }).click();
      const roleForm = sp.getByRole('form', { name: 'New role' });
      await roleForm.getByLabel('Name', { exact: true }).fill('team-a-only');
      await roleForm.getByRole('button', { name: 'Save' }).click();
      await alertIn(roleForm, /changing roles needs the admin token; API token "team-a-robots" cannot do it/);
      assert.equal(await store.getRole('team-a-only'), undefined, 'no role written');

      // Robots: team-a's only; team-b refused beside Namespace, nothing written; team-a created.
      await sp.getByRole('link', { name: 'Robots' }).click();
      await sp.getByRole('cell', { name: 'robot:team-a+ci', exact: true }).waitFor();
      await sp.getByText('1 robot(s)').waitFor();
      assert.equal(await sp.getByRole('cell', { name: 'robot:team-b+deploy' }).count(), 0, 'team-b\'s robot is not listed');
      await sp.getByRole('button', { name: 'New robot' }).click();
      const robotForm = sp.getByRole('form', { name: 'New robot' });
      await robotForm.getByLabel('Namespace').fill('team-b');
      await robotForm.getByLabel('Name', { exact: true }).fill('sneaky');
      await robotForm.getByRole('button', { name: 'Create' }).click();
      await alertIn(robotForm, /API token "team-a-robots" may not act in namespace "team-b" \(its namespaces: team-a\)/);
      assert.match(await describedBy(robotForm.getByLabel('Namespace')), /may not act in namespace "team-b"/, 'beside Namespace');
      const all = (await rest('GET', '/robots', ADMIN)).body.robots.map((r: { account: string }) => r.account).sort();
      assert.deepEqual(all, ['robot:team-a+ci', 'robot:team-b+deploy'], 'nothing written (checked as the admin)');
      await clean('robots refused for a scoped token');
      await sp.screenshot({ path: join(SHOTS, 'scoped-refused.png'), fullPage: true });
      await robotForm.getByLabel('Namespace').fill('team-a');
      await robotForm.getByRole('button', { name: 'Create' }).click();
      await sp.getByRole('region', { name: 'New secret' }).getByLabel('Secret').waitFor();
      await sp.getByRole('cell', { name: 'robot:team-a+sneaky', exact: true }).waitFor();
      assert.equal((await raw.robots.list('team-a')).length, 2);

      // Tokens: not linked; at its URL, the API's refusal and nothing to press.
      await sp.goto(`${base}/ui/tokens`);
      await sp.getByRole('heading', { name: 'Tokens' }).waitFor();
      await alertIn(sp, /managing API tokens needs the admin token/);
      assert.equal(await sp.getByRole('button', { name: 'New token' }).count(), 0);
      assert.equal(await sp.getByRole('table').count(), 0);

      // The admin revokes it: the session made with it gets 401 on its next call and returns to sign-in.
      assert.equal((await rest('DELETE', '/tokens/team-a-robots', ADMIN)).status, 200);
      const next = sp.waitForResponse((r) => r.url().endsWith('/ui/api/robots'), { timeout: 10_000 });
      await sp.getByRole('link', { name: 'Robots' }).click();
      assert.equal((await next).status(), 401);
      await sp.getByText('Your session ended').waitFor();
      assert.match(sp.url(), /\/ui\/sign-in\?next=%2Fui%2Frobots/);
      await sp.getByLabel('Token').fill(made.body.token);
      await sp.getByRole('button', { name: 'Sign in' }).click();
      await alertIn(sp, /wrong token/);
    } finally {
      await scopedCtx.close();
    }
    await rest('DELETE', '/robots/robot:team-a+sneaky', ADMIN);
    await rest('DELETE', '/robots/robot:team-b+deploy', ADMIN);
  });

  it('Delete role: asks, shows the bound-role conflict in words, and deletes with its bindings when forced', async () => {
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('button', { name: 'Delete role puller' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await alertIn(page.getByRole('group', { name: 'Delete role puller' }), /binding/);
    assert.notEqual(await store.getRole('puller'), undefined, 'not deleted without force');
    await page.getByRole('button', { name: 'Delete role and its bindings' }).click();
    await page.getByRole('cell', { name: 'puller', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await store.countBindings(), 0);
  });

  it('Delete robot: asks, Cancel deletes nothing, a failure shows in the panel, Confirm deletes', async () => {
    for (const name of ['gone', 'raced']) assert.equal((await rest('POST', '/robots', ADMIN, { namespace: 'team-c', name, actions: ['pull'] })).status, 201);
    await page.getByRole('link', { name: 'Robots' }).click();
    const ask = async (account: string) => {
      await page.getByRole('button', { name: `Delete ${account}`, exact: true }).click();
      const panel = page.getByRole('group', { name: `Delete ${account}` });
      await panel.getByRole('button', { name: 'Confirm delete' }).waitFor();
      return panel;
    };
    let panel = await ask('robot:team-c+gone');
    await clean('robot delete confirmation');
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await panel.waitFor({ state: 'detached' });
    assert.equal((await rest('GET', '/robots/robot:team-c+gone', ADMIN)).status, 200, 'Cancel deletes nothing');
    panel = await ask('robot:team-c+gone');
    await panel.getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByRole('cell', { name: 'robot:team-c+gone', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await rest('GET', '/robots/robot:team-c+gone', ADMIN)).status, 404);
    // Deleted elsewhere while the question is open: the refusal is shown in the panel, beside its buttons.
    panel = await ask('robot:team-c+raced');
    assert.equal((await rest('DELETE', '/robots/robot:team-c+raced', ADMIN)).status, 200);
    await panel.getByRole('button', { name: 'Confirm delete' }).click();
    await alertIn(panel, /robot "robot:team-c\+raced" does not exist/);
    await clean('robot delete refused');
    await panel.getByRole('button', { name: 'Cancel' }).click();
  });

  it('an expired session returns to sign-in and then back to where the user was', async () => {
    await page.goto(`${base}/ui/bindings?q=alice`);
    await page.getByText(/matching “alice”/).waitFor();
    // Every request of this page answered before the session goes (a late one would end it first).
    await page.waitForLoadState('networkidle');
    raw.db.prepare('DELETE FROM console_sessions').run();
    await page.getByRole('link', { name: 'Robots' }).click();
    await page.getByText('Your session ended').waitFor();
    assert.match(page.url(), /\/ui\/sign-in\?next=%2Fui%2Frobots/);
    await signIn();
    await page.getByRole('heading', { name: 'Robots' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/robots');
  });

  it('sign out ends the session server-side: the old cookie gets 401 from the API', async () => {
    const [cookie] = await ctx.cookies(`${base}/ui/`);
    assert.ok(cookie);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    const res = await fetch(`${base}/ui/api/roles`, { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(res.status, 401);
  });

  it('works from the keyboard alone', async () => {
    await page.goto(`${base}/ui/roles`);
    await page.getByLabel('Token').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Roles' }).waitFor();
    // Tab to the Bindings link and follow it with Enter.
    for (let i = 0; i < 10 && (await page.evaluate('document.activeElement?.textContent')) !== 'Bindings'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Bindings' }).waitFor();
    for (let i = 0; i < 20 && (await page.evaluate('document.activeElement?.id')) !== 'bindings-filter'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'bindings-filter');
  });

  it('10,000 bindings: the page lists, filters and pages without freezing (timings printed)', async () => {
    await store.putRole('reader', [{ actions: ['pull'] }]);
    const insert = raw.db.prepare("INSERT INTO bindings (account_name, role_name, namespace, is_pattern) VALUES (?, 'reader', ?, 0)");
    raw.db.transaction(() => {
      for (let i = 0; i < 10_000; i++) insert.run(`user-${String(i).padStart(5, '0')}`, `ns-${i % 50}`);
    })();
    const t0 = Date.now();
    await page.goto(`${base}/ui/bindings`);
    await page.getByRole('cell', { name: 'user-00099', exact: true }).waitFor();
    const list = Date.now() - t0;
    const t1 = Date.now();
    await page.getByLabel('Filter').fill('user-0424');
    await page.getByText('10 binding(s) matching “user-0424”').waitFor();
    const filter = Date.now() - t1;
    await page.getByLabel('Filter').fill('ns-7');
    await page.getByText(/100 binding\(s\) matching “ns-7”/).waitFor();
    const t2 = Date.now();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText(/Page 2: 100 binding/).waitFor();
    const paging = Date.now() - t2;
    // The page answers input while it holds a page of rows: a click round trip through the event loop.
    const t3 = Date.now();
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => r(null)))');
    const frame = Date.now() - t3;
    console.log(`      10,000 bindings: first page ${list} ms, filter ${filter} ms, next page ${paging} ms, next frame ${frame} ms`);
    assert.equal(await page.getByRole('row').count(), 101, 'one page of rows (plus the header), not 10,000');
    await clean('bindings with 10,000');
  });

  it('the whole run violated the Content-Security-Policy nowhere (no inline script or style needed)', () => {
    assert.deepEqual(cspViolations, []);
  });
});
