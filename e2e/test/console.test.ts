/**
 * The web console against the whole system: Chromium (playwright-core) drives authz's console to make
 * a robot, and the secret the page shows once logs in through authn and pushes with real skopeo to the
 * real registry; a rotation from the page keeps the old secret working for its overlap; a delete from
 * the page ends the robot's access.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildConsole, CHROMIUM, launch } from '../../authz-server/test/console/browser.js';
import { outDir, uniqueImage, useStack } from '../harness/fixture.js';
import { ROOT } from '../harness/procs.js';
import { Skopeo } from '../harness/skopeo.js';
import type { Stack } from '../harness/stack.js';
import { SERVICE } from '../harness/stack.js';

describe('e2e: web console — a robot made in the browser logs in through authn and pushes with skopeo', function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  // authz runs from source and serves dist/console (the build `npm run build` makes), read when it starts.
  before(() => void buildConsole(join(ROOT, 'dist', 'console')));
  const stack = useStack(['skopeo']);
  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip();
    browser = await launch();
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
  });
  after(async () => browser?.close());

  const token = (s: Stack, user: string, password: string) =>
    fetch(`${s.authnUrl}/auth?service=${SERVICE}&scope=repository:team-a/app:pull`, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
  const secretShown = () => page.getByRole('region', { name: 'New secret' }).getByLabel('Secret').inputValue();

  it('create, push with the shown secret, rotate with an overlap, delete — all from the page', async () => {
    const s = stack();
    await page.goto(`${s.authzUrl}/ui/robots`);
    await page.getByLabel('Token').fill(s.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Robots' }).waitFor();
    await page.getByRole('button', { name: 'New robot' }).click();
    const form = page.getByRole('form', { name: 'New robot' });
    await form.getByLabel('Namespace').fill('team-a');
    await form.getByLabel('Name', { exact: true }).fill('ci');
    await form.getByLabel('push').check();
    await form.getByRole('button', { name: 'Create' }).click();
    const first = await secretShown();
    const robot = { user: 'robot:team-a+ci', password: first };

    const sk = new Skopeo(s.home('console-robot'));
    const push = await sk.push(uniqueImage(s, 'console-robot').dir, 'v1', s.ref('team-a/app'), robot);
    assert.equal(push.code, 0, push.out);

    await page.getByRole('button', { name: 'Rotate robot:team-a+ci' }).click();
    await page.getByLabel('Overlap').fill('1h');
    await page.getByRole('form', { name: 'Rotate robot:team-a+ci' }).getByRole('button', { name: 'Rotate' }).click();
    let second = first;
    for (const t0 = Date.now(); second === first && Date.now() - t0 < 5000; ) second = await secretShown();
    assert.notEqual(second, first, 'the rotation shows a new secret');
    assert.equal((await token(s, robot.user, first)).status, 200, 'the old secret works during the overlap');
    const pull = await sk.pull(s.ref('team-a/app'), outDir(s, 'console-robot'), { user: robot.user, password: second });
    assert.equal(pull.code, 0, pull.out);

    await page.getByRole('button', { name: 'Delete robot:team-a+ci' }).click();
    await page.getByRole('group', { name: 'Delete robot:team-a+ci' }).getByRole('button', { name: 'Confirm delete' }).click();
    await page.getByRole('cell', { name: 'robot:team-a+ci', exact: true }).waitFor({ state: 'detached' });
    // authn hears of the deletion through authz's change feed: the secret is refused within about a second.
    let status = 200;
    for (const t0 = Date.now(); status !== 401 && Date.now() - t0 < 3000; await new Promise((r) => setTimeout(r, 100))) status = (await token(s, robot.user, second)).status;
    assert.equal(status, 401, 'a deleted robot\'s secret is refused');
  });
});
