/** Robots: the table, New robot (secret shown once), Rotate with an Overlap, Delete (confirmed). */
import { useEffect, useState } from 'preact/hooks';
import { api, type Robot, type RobotSecret } from '../api.js';
import { ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';
import { SecretOnce } from '../components/secret.js';

const when = (iso: string | null, none: string) => (iso ? new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z') : none);

function NewRobot({ onCreated }: { onCreated: (s: RobotSecret) => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    const f = (e.currentTarget as HTMLFormElement).elements;
    const value = (n: string) => (f.namedItem(n) as HTMLInputElement).value;
    const actions = (['pull', 'push'] as const).filter((a) => (f.namedItem(`action-${a}`) as HTMLInputElement).checked);
    const ttl = value('ttl');
    try {
      onCreated(await api.createRobot({ namespace: value('namespace'), name: value('name'), actions, ...(ttl ? { ttl } : {}) }));
    } catch (err) {
      setErrors(errorsFrom(err, { namespace: 'namespace', name: 'name', actions: 'actions', ttl: 'ttl' }));
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="New robot" noValidate>
      <h2>New robot</h2>
      <Field id="robot-namespace" label="Namespace" error={errors.namespace}>
        {(a) => <input {...a} name="namespace" />}
      </Field>
      <Field id="robot-name" label="Name" error={errors.name}>
        {(a) => <input {...a} name="name" />}
      </Field>
      <fieldset aria-describedby={errors.actions ? 'robot-actions-error' : undefined}>
        <legend>Actions</legend>
        <label>
          <input type="checkbox" name="action-pull" defaultChecked /> pull
        </label>
        <label>
          <input type="checkbox" name="action-push" /> push
        </label>
        <ErrorText id="robot-actions-error" error={errors.actions} />
      </fieldset>
      <Field id="robot-ttl" label="Expires after" error={errors.ttl} hint="Optional, e.g. 30d or 12h; empty: never.">
        {(a) => <input {...a} name="ttl" />}
      </Field>
      <ErrorText id="new-robot-error" error={errors.form} />
      <button type="submit">Create</button>
    </form>
  );
}

function Rotate({ account, onRotated, onCancel }: { account: string; onRotated: (s: RobotSecret) => void; onCancel: () => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    const overlap = ((e.currentTarget as HTMLFormElement).elements.namedItem('overlap') as HTMLInputElement).value;
    try {
      onRotated(await api.rotateRobot(account, overlap ? { overlap } : {}));
    } catch (err) {
      setErrors(errorsFrom(err, { overlap: 'overlap' }));
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label={`Rotate ${account}`} noValidate>
      <h2>Rotate {account}</h2>
      <Field id="rotate-overlap" label="Overlap" error={errors.overlap} hint="How long the old secret keeps working, e.g. 1h (default 24h, 0 to end it now).">
        {(a) => <input {...a} name="overlap" />}
      </Field>
      <ErrorText id="rotate-error" error={errors.form} />
      <button type="submit">Rotate</button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function ConfirmDelete({ account, onConfirm, onCancel }: { account: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div class="panel" role="group" aria-label={`Delete ${account}`}>
      <p>Delete {account}? Its secret stops working at once, for everyone using it.</p>
      <button type="button" class="danger" onClick={onConfirm}>
        Confirm delete
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

export function Robots({ registryHost }: { registryHost: string | null }) {
  const [robots, setRobots] = useState<Robot[] | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<string | null>(null);
  const [secret, setSecret] = useState<RobotSecret | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const load = () => api.robots().then((r) => (setRobots(r.robots), setError(undefined)), (e: Error) => setError(e.message));
  useEffect(() => void load(), []);
  const show = (s: RobotSecret) => (setSecret(s), setCreating(false), setRotating(null), void load());
  const remove = (account: string) => api.deleteRobot(account).then(() => (setDeleting(null), void load()), (e: Error) => setError(e.message));
  return (
    <section>
      <h1>Robots</h1>
      <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
        New robot
      </button>
      {creating ? <NewRobot onCreated={show} /> : null}
      {rotating ? <Rotate account={rotating} onRotated={show} onCancel={() => setRotating(null)} /> : null}
      {deleting ? <ConfirmDelete account={deleting} onConfirm={() => void remove(deleting)} onCancel={() => setDeleting(null)} /> : null}
      {secret ? <SecretOnce account={secret.account} secret={secret.secret} registryHost={registryHost} onClose={() => setSecret(null)} /> : null}
      <ErrorText id="robots-error" error={error} />
      {robots === null ? (
        <p>Loading…</p>
      ) : (
        <table>
          <caption>{robots.length} robot(s)</caption>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Actions</th>
              <th scope="col">Expiry</th>
              <th scope="col">Previous secret valid until</th>
              <th scope="col">
                <span class="sr-only">Manage</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {robots.map((r) => (
              <tr key={r.account}>
                <td>{r.account}</td>
                <td>{r.actions.join(', ')}</td>
                <td>{r.expired ? `expired ${when(r.expires_at, '')}` : when(r.expires_at, 'never')}</td>
                <td>{when(r.previous_valid_until, '—')}</td>
                <td>
                  <button type="button" aria-label={`Rotate ${r.account}`} onClick={() => setRotating(r.account)}>
                    Rotate
                  </button>
                  <button type="button" aria-label={`Delete ${r.account}`} onClick={() => setDeleting(r.account)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
