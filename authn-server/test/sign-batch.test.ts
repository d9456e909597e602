/** Token signatures made together once per event-loop turn (token/sign-batch.ts). */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { batchedSigner, MAX_PER_TURN } from '../src/token/sign-batch.js';

describe('batched token signatures', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es256 = (input: Buffer) => sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });

  it('the signatures asked in one turn are made together after it, and each verifies for its own input', async () => {
    const made: string[] = [];
    const signer = batchedSigner((input) => (made.push(input.toString()), es256(input)));
    const inputs = Array.from({ length: 10 }, (_, i) => `header.payload-${i}`);
    const pending = inputs.map((i) => signer(i));
    assert.deepEqual(made, [], 'nothing is signed while the turn runs');
    const signatures = await Promise.all(pending);
    assert.deepEqual(made, inputs, 'signed in the order asked');
    signatures.forEach((s, i) => assert.ok(verify('sha256', Buffer.from(inputs[i]!), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')), `signature ${i} verifies`));
    assert.ok(!verify('sha256', Buffer.from(inputs[1]!), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatures[0]!, 'base64url')), 'and not for another input');
  });

  it(`at most ${MAX_PER_TURN} per turn: a burst lets other callbacks run between its batches`, async () => {
    let made = 0;
    const signer = batchedSigner((input) => (made++, es256(input)));
    const pending = Array.from({ length: MAX_PER_TURN + 10 }, (_, i) => signer(`x.${i}`));
    const seenBetween = await new Promise<number>((resolve) => setImmediate(() => resolve(made)));
    assert.equal(seenBetween, MAX_PER_TURN, 'the first batch ran, the rest waits for the next turn');
    await Promise.all(pending);
    assert.equal(made, MAX_PER_TURN + 10);
  });

  it('a signature that throws fails its own token only', async () => {
    const signer = batchedSigner((input) => {
      if (input.toString() === 'bad') throw new Error('key unusable');
      return es256(input);
    });
    const [ok1, bad, ok2] = await Promise.allSettled([signer('a'), signer('bad'), signer('b')]);
    assert.equal(ok1.status, 'fulfilled');
    assert.equal(ok2.status, 'fulfilled');
    assert.equal(bad.status, 'rejected');
    assert.match(String((bad as PromiseRejectedResult).reason), /key unusable/);
  });
});
