/**
 * Token signatures made together, once per turn of the event loop, instead of one inside each request's
 * handling. Why: an ES256 signature costs ≈ 27 µs in a tight loop, but 60–130 µs of CPU when each one comes
 * between the rest of a request's work (the curve's precomputed tables and OpenSSL's state fall out of the CPU
 * caches; measured with `crypto.sign` timed in place, and with the bench's "bare express route + one ES256
 * signature" row). Under load the requests one turn reads arrive together (≈ 30 with 32 connections), so their
 * signatures run back to back after that turn's I/O (`setImmediate`), and their replies go out together: authn's
 * CPU per token went from ≈ 200 µs to ≈ 115 µs (BENCHMARKS.md). A lone request waits for nothing but the end
 * of its own turn.
 * At most MAX_PER_TURN signatures run per turn, so a burst cannot hold the loop (health checks, the change
 * feed) for longer than that; the rest go in the next turn. A signature that throws fails only its own token.
 */
export const MAX_PER_TURN = 64;

type Sign = (input: Buffer) => Buffer;

interface Job {
  input: string;
  resolve: (signature: string) => void;
  reject: (e: unknown) => void;
}

/** `sign(input)` resolves with the base64url signature of `input`, made with the turn's other signatures. */
export function batchedSigner(sign: Sign): (input: string) => Promise<string> {
  let queue: Job[] = [];
  const flush = (): void => {
    const jobs = queue.length > MAX_PER_TURN ? queue.splice(0, MAX_PER_TURN) : queue;
    if (jobs === queue) queue = [];
    else setImmediate(flush);
    for (const j of jobs) {
      try {
        j.resolve(sign(Buffer.from(j.input)).toString('base64url'));
      } catch (e) {
        j.reject(e);
      }
    }
  };
  return (input) =>
    new Promise<string>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ input, resolve, reject });
    });
}
