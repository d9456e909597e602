/** The path-trick corpus against the mapping: every trick is refused (404, never forwarded), the safe ones name only team-a/app. */
import assert from 'node:assert/strict';
import { mapRequest } from '../src/route.js';
import { PATH_TRICKS, SAFE_TRICKS } from './path-corpus.js';

describe('proxy: path-trick corpus', () => {
  it(`has at least 30 tricks (${PATH_TRICKS.length})`, () => assert.ok(PATH_TRICKS.length >= 30));
  for (const target of PATH_TRICKS) {
    it(`GET ${target} → 404`, () => {
      const r = mapRequest('GET', target);
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.equal(!r.ok && r.status, 404);
    });
  }
  for (const target of SAFE_TRICKS) {
    it(`${target} touches team-a/app only`, () => {
      const r = mapRequest(target.includes('uploads') ? 'POST' : 'GET', target);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.scopes.map((s) => s.name), ['team-a/app']);
      assert.ok(!r.target.includes('team-b') || !r.target.includes('uploads'), r.target);
    });
  }
});
