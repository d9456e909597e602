/**
 * Reads one password from stdin for `hash-password`.
 * - Piped: the first line, without its `\n` / `\r\n` (so `echo pw |` and `printf %s pw |` give the same hash);
 *   the rest is ignored. `null` when stdin is empty.
 * - Terminal: prompts on stderr and reads in raw mode, so nothing is echoed; Backspace edits, Ctrl-C aborts.
 */
import type { Readable, Writable } from 'node:stream';
import type { ReadStream } from 'node:tty';

const MAX_BYTES = 64 * 1024;

function readFirstLine(input: Readable): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (value: string | null): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', reject);
      input.pause();
      input.destroy();
      resolve(value);
    };
    const text = (): string => Buffer.concat(chunks).toString('utf8');
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      size += buf.length;
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 || size > MAX_BYTES) finish(text().split('\n')[0]!.replace(/\r$/, ''));
    };
    const onEnd = (): void => finish(size ? text().replace(/\r?\n?$/, '') : null);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', reject);
  });
}

function readHidden(input: ReadStream, prompt: Writable): Promise<string | null> {
  return new Promise((resolve) => {
    let value = '';
    prompt.write('Password: ');
    input.setRawMode(true);
    input.setEncoding('utf8');
    const done = (result: string | null): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      prompt.write('\n');
      resolve(result);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003') {
          done(null);
          process.exit(130);
        }
        if (ch === '\u0004') return done(value || null);
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

export function readPassword(input: Readable & { isTTY?: boolean }, prompt: Writable): Promise<string | null> {
  if (input.isTTY && typeof (input as ReadStream).setRawMode === 'function') return readHidden(input as ReadStream, prompt);
  return readFirstLine(input);
}
