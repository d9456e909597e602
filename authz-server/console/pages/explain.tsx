/**
 * Explain: a request as authn would send it (service from authz's configuration, type `repository`),
 * answered per action with allowed/denied in words and the binding → role → permission chain behind it.
 */
import { useState } from 'preact/hooks';
import { api, type Explained } from '../api.js';
import { ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';
import { ROBOT_CREDENTIAL_LABEL, ROBOT_CREDENTIAL_VALUE, ROBOT_PREFIX } from '../../../common/robots.js';
import { summarise } from './roles.js';

/** `team=a, env=prod` → `{team: ['a'], env: ['prod']}`; a part without `=` is named in the error. */
export function parseLabels(text: string): Record<string, string[]> | string {
  const out: Record<string, string[]> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 1) return `labels: "${part}" is not key=value`;
    (out[part.slice(0, eq).trim()] ??= []).push(part.slice(eq + 1).trim());
  }
  return out;
}

function Answer({ r }: { r: Explained }) {
  return (
    <div class="panel" role="region" aria-label="Answer">
      <h2>
        {r.request.Account || '<anonymous>'} → {r.request.Name}: {r.allowed ? 'allowed' : 'denied'}
      </h2>
      <ul>
        {r.per_action.map((a) => (
          <li key={a.action}>
            <strong>{a.action}</strong>: {a.granted ? 'allowed' : 'denied'}
            {!a.granted && !r.request.Account.startsWith(ROBOT_PREFIX) ? ` — no permission of the ${r.bindings_considered} binding(s) considered grants ${a.action}` : null}
            {a.granted_by.length ? (
              <ul>
                {a.granted_by.map((g, i) => (
                  <li key={i}>
                    binding {g.binding.account_name} → role {g.binding.role_name}
                    {g.binding.namespace !== null ? ` (namespace ${g.binding.namespace})` : ''} → permission #{g.permission_index}: {summarise(g.permission)}
                  </li>
                ))}
              </ul>
            ) : null}
            {a.granted && r.request.Account.startsWith(ROBOT_PREFIX) ? ' by the robot\'s own grant (its actions, in its namespace)' : null}
          </li>
        ))}
      </ul>
      {r.misses.length ? (
        <>
          <h3>Why not</h3>
          <ul>{r.misses.map((m, i) => <li key={i}>{m}</li>)}</ul>
        </>
      ) : null}
    </div>
  );
}

export function Explain({ services }: { services: string[] }) {
  const [errors, setErrors] = useState<Errors>({});
  const [answer, setAnswer] = useState<Explained | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    const f = (e.currentTarget as HTMLFormElement).elements;
    const value = (n: string) => (f.namedItem(n) as HTMLInputElement).value.trim();
    const labels = parseLabels(value('labels'));
    if (typeof labels === 'string') return setErrors({ labels });
    // A robot is asked about as authn asks after verifying its secret: with the robot credential label.
    if (value('account').startsWith(ROBOT_PREFIX)) labels[ROBOT_CREDENTIAL_LABEL] = [ROBOT_CREDENTIAL_VALUE];
    setAnswer(null);
    try {
      const actions = value('actions').split(',').map((a) => a.trim()).filter(Boolean);
      setAnswer(await api.explain({ Account: value('account'), Name: value('repository'), Actions: actions, Type: 'repository', Service: value('service'), IP: value('ip'), Labels: Object.keys(labels).length ? labels : null }));
      setErrors({});
    } catch (err) {
      setErrors(errorsFrom(err, { Account: 'account', Name: 'repository', Actions: 'actions', Labels: 'labels', IP: 'ip', Service: 'service' }));
    }
  };
  return (
    <section>
      <h1>Explain</h1>
      <form class="panel" onSubmit={submit} aria-label="Explain a request" noValidate>
        <Field id="explain-account" label="Account" error={errors.account} hint="Empty: an anonymous request. A robot: is explained as logged in with its secret.">
          {(a) => <input {...a} name="account" />}
        </Field>
        <Field id="explain-repository" label="Repository" error={errors.repository}>
          {(a) => <input {...a} name="repository" placeholder="team-a/app" />}
        </Field>
        <Field id="explain-actions" label="Actions" error={errors.actions} hint="Comma-separated: pull, push, delete, *.">
          {(a) => <input {...a} name="actions" defaultValue="pull" />}
        </Field>
        <Field id="explain-labels" label="Labels" error={errors.labels} hint="Optional: key=value, comma-separated.">
          {(a) => <input {...a} name="labels" />}
        </Field>
        <Field id="explain-ip" label="IP" error={errors.ip} hint="Optional: the client's address.">
          {(a) => <input {...a} name="ip" />}
        </Field>
        <Field id="explain-service" label="Service" error={errors.service}>
          {(a) =>
            services.length > 1 ? (
              <select {...a} name="service">
                {services.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            ) : (
              <input {...a} name="service" readOnly value={services[0] ?? ''} />
            )
          }
        </Field>
        <ErrorText id="explain-error" error={errors.form} />
        <button type="submit">Explain</button>
      </form>
      {answer ? <Answer r={answer} /> : null}
    </section>
  );
}
