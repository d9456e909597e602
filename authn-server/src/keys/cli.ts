/** `tollgate keys generate|bundle`. */
import type { Command } from 'commander';
import { generateKeyFiles, writeBundle, writeJwks } from './generate.js';

function fail(cmd: string, e: unknown): never {
  process.stderr.write(`tollgate keys ${cmd}: ${(e as Error).message}\n`);
  process.exit(2);
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('token signing keys: generate a key + self-signed certificate, build a registry bundle or JWKS');
  keys
    .command('generate')
    .description('write token.key and a self-signed token.crt into DIR')
    .requiredOption('--out <dir>', 'output directory (created)')
    .option('--alg <alg>', 'ES256 (EC P-256) or RS256 (RSA 2048)', 'ES256')
    .option('--days <n>', 'certificate validity in days', '3650')
    .option('--force', 'overwrite existing files')
    .action((o: { out: string; alg: string; days: string; force?: boolean }) => {
      try {
        if (o.alg !== 'ES256' && o.alg !== 'RS256') throw new Error(`--alg must be ES256 or RS256, not "${o.alg}"`);
        const days = Number(o.days);
        if (!Number.isInteger(days) || days < 1 || days > 36500) throw new Error(`--days must be a whole number from 1 to 36500, not "${o.days}"`);
        const r = generateKeyFiles(o.out, { alg: o.alg, days, force: o.force === true });
        process.stdout.write(`wrote ${r.keyFile}\nwrote ${r.certFile}\n`);
      } catch (e) {
        fail('generate', e);
      }
    });
  keys
    .command('bundle')
    .description('write the registry rootcertbundle (--out) and/or a JWKS file for registry 3.x (--jwks) from certificate files')
    .argument('<certs...>', 'PEM certificate files (the leaf of each is used)')
    .option('--out <file>', 'rootcertbundle PEM to write')
    .option('--jwks <file>', 'JWKS JSON to write')
    .option('--kid-format <format>', 'kid in the JWKS: libtrust or thumbprint (match authn --kid-format)', 'libtrust')
    .action(async (certs: string[], o: { out?: string; jwks?: string; kidFormat: string }) => {
      try {
        if (!o.out && !o.jwks) throw new Error('pass --out FILE and/or --jwks FILE');
        if (o.kidFormat !== 'libtrust' && o.kidFormat !== 'thumbprint') throw new Error(`--kid-format must be libtrust or thumbprint, not "${o.kidFormat}"`);
        if (o.out) process.stdout.write(`wrote ${writeBundle(o.out, certs)} certificate(s) to ${o.out}\n`);
        if (o.jwks) process.stdout.write(`wrote ${await writeJwks(o.jwks, certs, o.kidFormat)} key(s) to ${o.jwks}\n`);
      } catch (e) {
        fail('bundle', e);
      }
    });
}
