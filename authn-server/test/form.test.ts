/** The strict form parser every token request goes through: percent-decoding, `+`, UTF-8, and what it refuses. */
import assert from 'node:assert/strict';
import { parseForm } from '../src/request/form.js';
import { AuthnError } from '../src/errors.js';

const parsed = (text: string) => Object.fromEntries(parseForm(text, 'query'));

describe('form parsing (query strings and bodies)', () => {
  it('decodes scopes as clients encode them, repeated fields in order, `+` as a space, raw UTF-8 as itself', () => {
    assert.deepEqual(parsed('scope=repository%3Ateam-a%2Fapp%3Apull%2Cpush&scope=repository%3Ab%3Apull&service=reg'), {
      scope: ['repository:team-a/app:pull,push', 'repository:b:pull'],
      service: ['reg'],
    });
    assert.deepEqual(parsed('a=b+c%2B&e=%E2%82%AC&f=%F0%9F%98%80x😀&g&=v'), { a: ['b c+'], e: ['€'], f: ['😀x😀'], g: [''], '': ['v'] });
  });

  for (const [text, reason] of [
    ['a=%', /a: bad percent-encoding/],
    ['a=%4', /a: bad percent-encoding/],
    ['a=%zz', /a: bad percent-encoding/],
    ['a=%C3', /a is not valid UTF-8/],
    ['a=%FF', /a is not valid UTF-8/],
    ['%FF=1', /query is not valid UTF-8/],
  ] as const) {
    it(`refuses ${text} with a 400 naming the field`, () => {
      assert.throws(() => parseForm(text, 'query'), (e: unknown) => e instanceof AuthnError && e.status === 400 && reason.test(e.message));
    });
  }
});
