/**
 * `tollgate robot create|list|rotate|rm`. A secret is printed once, on stdout, and nowhere else;
 * `-o dockerconfigjson --registry HOST` prints a Docker config ready for
 * `kubectl create secret generic NAME --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin`.
 */
import { dockerConfigJson } from '../../../common/robot-contract.js';
import type { Command } from 'commander';
import type { CreatedRobotView, RobotView, RotatedRobotView } from '../robots/routes.js';
import { action, CliError, createClient, withClientOptions, type ClientOptions } from './client.js';

type Output = 'text' | 'json' | 'dockerconfigjson';
interface OutputOpts {
  output: string;
  registry?: string;
}
type Issued = CreatedRobotView | RotatedRobotView;

function checkOutput(opts: OutputOpts): Output {
  if (!['text', 'json', 'dockerconfigjson'].includes(opts.output)) throw new CliError(`-o must be text, json or dockerconfigjson (got "${opts.output}")`);
  if (opts.output === 'dockerconfigjson' && !opts.registry) throw new CliError('-o dockerconfigjson needs --registry HOST (the registry host pods pull from)');
  return opts.output as Output;
}

function print(out: Output, d: Issued, registry?: string): void {
  if (out === 'json') process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
  else if (out === 'dockerconfigjson') process.stdout.write(`${dockerConfigJson(registry!, d.account, d.secret)}\n`);
  else {
    process.stdout.write(`account: ${d.account}\nsecret:  ${d.secret}\nexpires: ${d.expires_at ?? 'never'}\n`);
    if ('previous_valid_until' in d) process.stdout.write(`previous secret valid until: ${d.previous_valid_until}\n`);
    process.stderr.write('the secret is shown only this once\n');
  }
}

const withOutput = (cmd: Command) =>
  cmd.option('-o, --output <format>', 'text, json or dockerconfigjson', 'text').option('--registry <host>', 'registry host for -o dockerconfigjson');

export function registerRobotCommands(program: Command): void {
  const robot = program.command('robot').description('robot accounts robot:<namespace>+<name> with rotating secrets');

  withClientOptions(
    withOutput(
      robot
        .command('create <namespace> <name>')
        .description('create a robot; prints its secret once')
        .option('--actions <list>', 'pull or pull,push', 'pull')
        .option('--ttl <duration>', 'lifetime, 1h..732d (default: no expiry)'),
    ),
  ).action(
    action(async (namespace: string, name: string, opts: ClientOptions & OutputOpts & { actions: string; ttl?: string }) => {
      const out = checkOutput(opts);
      const actions = opts.actions.split(',').map((a) => a.trim()).filter(Boolean);
      const res = await (await createClient(opts)).http.post('/robots', { namespace, name, actions, ...(opts.ttl ? { ttl: opts.ttl } : {}) });
      print(out, res.data as CreatedRobotView, opts.registry);
    }),
  );

  withClientOptions(robot.command('list').description('list robots (never secrets)').option('--namespace <ns>', 'only this namespace').option('--json', 'JSON output')).action(
    action(async (opts: ClientOptions & { namespace?: string; json?: boolean }) => {
      const res = await (await createClient(opts)).http.get('/robots', { params: opts.namespace ? { namespace: opts.namespace } : {} });
      const robots = (res.data as { robots: RobotView[] }).robots;
      if (opts.json) return void process.stdout.write(`${JSON.stringify(robots, null, 2)}\n`);
      for (const r of robots) {
        const overlap = r.previous_valid_until ? `  previous secret until ${r.previous_valid_until}` : '';
        process.stdout.write(`${r.account}  ${r.actions.join(',')}  expires ${r.expires_at ?? 'never'}${r.expired ? ' (EXPIRED)' : ''}${overlap}\n`);
      }
      if (robots.length === 0) process.stderr.write('no robots\n');
    }),
  );

  withClientOptions(withOutput(robot.command('rotate <account>').description('new secret; the previous one works for --overlap').option('--overlap <duration>', 'how long the previous secret keeps working, 0..30d', '24h'))).action(
    action(async (account: string, opts: ClientOptions & OutputOpts & { overlap: string }) => {
      const out = checkOutput(opts);
      const res = await (await createClient(opts)).http.post(`/robots/${encodeURIComponent(account)}/rotate`, { overlap: opts.overlap });
      print(out, res.data as RotatedRobotView, opts.registry);
    }),
  );

  withClientOptions(robot.command('rm <account>').description('delete a robot (authn stops accepting it within 1 s)')).action(
    action(async (account: string, opts: ClientOptions) => {
      await (await createClient(opts)).http.delete(`/robots/${encodeURIComponent(account)}`);
      process.stdout.write(`deleted ${account}\n`);
    }),
  );
}
