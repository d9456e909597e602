/** Robots: the table, New robot (secret shown once), Rotate with an Overlap, Delete (confirmed). */
import { useState } from 'preact/hooks';
import { ROBOT_ACTIONS } from '../../src/robots/actions.js';
import { api, type Robot, type RobotSecret } from '../api.js';
import { Confirm } from '../components/confirm.js';
import { DataTable } from '../components/data-table.js';
import { useLoaded } from '../components/use-loaded.js';
import { DockerLogin } from '../components/docker-login.js';
import { Checkboxes, ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';
import { submitted } from '../components/form-values.js';
import { SecretOnce } from '../components/secret.js';
import { when } from '../components/time.js';

function NewRobot({ onCreated }: { onCreated: (s: RobotSecret) => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const submit = async (e: Event) => {
    const { value, ticked } = submitted(e);
    setErrors({});
    const ttl = value('ttl');
    try {
      onCreated(await api.createRobot({ namespace: value('namespace'), name: value('name'), actions: ticked('action', ROBOT_ACTIONS), ...(ttl ? { ttl } : {}) }));
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
      <Checkboxes id="robot-actions" legend="Actions" name="action" options={ROBOT_ACTIONS} checked={['pull']} error={errors.actions} />
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
    const overlap = submitted(e).value('overlap');
    setErrors({});
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

export function Robots({ registryHost }: { registryHost: string | null }) {
  const { data, error, load } = useLoaded(() => api.robots());
  const robots: Robot[] | null = data?.robots ?? null;
  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<string | null>(null);
  const [secret, setSecret] = useState<RobotSecret | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const show = (s: RobotSecret) => (setSecret(s), setCreating(false), setRotating(null), void load());
  return (
    <section>
      <h1>Robots</h1>
      <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
        New robot
      </button>
      {creating ? <NewRobot onCreated={show} /> : null}
      {rotating ? <Rotate account={rotating} onRotated={show} onCancel={() => setRotating(null)} /> : null}
      {deleting ? (
        <Confirm key={deleting} label={`Delete ${deleting}`} confirm="Confirm delete" errorId="delete-robot-error" onConfirm={() => api.deleteRobot(deleting).then(() => (setDeleting(null), void load()))} onCancel={() => setDeleting(null)}>
          Delete {deleting}? Its secret stops working at once, for everyone using it.
        </Confirm>
      ) : null}
      {secret ? (
        <SecretOnce heading={`Secret for ${secret.account}`} label="Secret" secret={secret.secret} lost="Rotate the robot if it is lost." onClose={() => setSecret(null)}>
          <DockerLogin account={secret.account} secret={secret.secret} registryHost={registryHost} />
        </SecretOnce>
      ) : null}
      <ErrorText id="robots-error" error={error} />
      <DataTable
        rows={robots}
        caption={`${robots?.length ?? 0} robot(s)`}
        columns={['Account', 'Actions', 'Expiry', 'Previous secret valid until']}
        manage="Manage"
        rowKey={(r) => r.account}
        cells={(r) => [
          r.account,
          r.actions.join(', '),
          r.expired ? `expired ${when(r.expires_at, '')}` : when(r.expires_at, 'never'),
          when(r.previous_valid_until, '—'),
          <>
            <button type="button" aria-label={`Rotate ${r.account}`} onClick={() => setRotating(r.account)}>
              Rotate
            </button>
            <button type="button" aria-label={`Delete ${r.account}`} onClick={() => setDeleting(r.account)}>
              Delete
            </button>
          </>,
        ]}
      />
    </section>
  );
}
