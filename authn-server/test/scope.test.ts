/** Scope grammar (PROTOCOL.md §3): type at the first `:`, actions after the last, merging and limits. */
import assert from 'node:assert/strict';
import { AuthnError } from '../src/errors.js';
import { formatScope, parseScope, parseScopes } from '../src/scope/parse.js';

describe('scope parsing', () => {
  it('splits the type at the first colon and the actions at the last (host:port names)', () => {
    assert.deepEqual(parseScope('repository:localhost:5000/foo/bar:pull'), { type: 'repository', name: 'localhost:5000/foo/bar', actions: ['pull'] });
    assert.deepEqual(parseScope('repository:[::1]:5000/foo:push,pull'), { type: 'repository', name: '[::1]:5000/foo', actions: ['pull', 'push'] });
  });

  it('reads a resource class, catalog, * and zot\'s empty name', () => {
    assert.deepEqual(parseScope('repository(plugin):vieux/sshfs:pull'), { type: 'repository', class: 'plugin', name: 'vieux/sshfs', actions: ['pull'] });
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    assert.deepEqual(parseScope('repository::pull'), { type: 'repository', name: '', actions: ['pull'] });
  });

  it('splits every value on spaces, merges repeats of one resource, skips empty parts', () => {
    const s = parseScopes(['repository:a/b:pull  repository:c/d:pull', 'repository:a/b:push,pull', '']);
    assert.deepEqual(s.map(formatScope), ['repository:a/b:pull,push', 'repository:c/d:pull']);
    assert.deepEqual(parseScopes([]), []);
  });

  it('keeps different classes of one name apart', () => {
    assert.equal(parseScopes(['repository:a/b:pull repository(plugin):a/b:pull']).length, 2);
  });

  it('allows 64 scopes and refuses the 65th, counting before merging', () => {
    assert.equal(parseScopes(Array.from({ length: 64 }, (_, i) => `repository:r${i}:pull`)).length, 64);
    assert.throws(() => parseScopes([Array.from({ length: 65 }, () => 'repository:same:pull').join(' ')]), (e: unknown) => e instanceof AuthnError && e.status === 400 && /at most 64/.test(e.message));
  });

  it('names follow the spec grammar: lowercase path components, optional host[:port]/ (host may carry uppercase)', () => {
    for (const ok of ['team-a/app', 'a__b/c.d/e--f', 'localhost:5000/foo', 'Registry.Example.com:443/ns/app', '[fd00::1]:5000/x', 'catalog']) {
      assert.equal(parseScope(`repository:${ok}:pull`).name, ok, ok);
    }
    for (const bad of ['foo/Bar', 'Foo', 'a//b', '../x', 'a/../b', '/a', 'a/', '-a', 'a_', 'a___b', 'a.-b', 'a:b:c', 'host:port/x', 'a b', 'é/x']) {
      assert.throws(
        () => parseScope(`repository:${bad}:pull`),
        (e: unknown) => e instanceof AuthnError && e.status === 400 && e.opts.field === 'scope' && e.message.includes('is not a repository name'),
        bad,
      );
    }
  });

  it('stays fast on adversarial names (no regex backtracking blow-up)', () => {
    const start = performance.now();
    for (const name of ['a-'.repeat(127) + 'A', 'A'.repeat(254) + '-', 'a.'.repeat(120) + 'a:/', `${'a'.repeat(60)}/${'b_'.repeat(90)}`]) {
      assert.throws(() => parseScope(`repository:${name}:pull`));
    }
    assert.ok(performance.now() - start < 50, `${performance.now() - start} ms`);
  });

  it('refuses malformed scopes with a 400 naming the scope', () => {
    for (const bad of ['', 'repository', 'repository:x', ':x:pull', 'repo sitory:x:pull', 'repository:x:pu ll', 'repository:a/*:pull', 'repository:a/b:pull;rm', 'repository:a\u0000b:pull', 'repository(:a:pull', 'repository():a:pull']) {
      assert.throws(
        () => parseScope(bad),
        (e: unknown) => e instanceof AuthnError && e.status === 400 && e.opts.field === 'scope' && e.message.includes(`"${bad.slice(0, 10)}`),
        bad,
      );
    }
  });
});
