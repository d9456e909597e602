/** Roles: the table, New role (Name + Permissions as JSON, checked as typed), Delete with the conflict in words. */
import { useState } from 'preact/hooks';
import { api, ApiError, type Permission, type RoleRecord } from '../api.js';
import { Confirm } from '../components/confirm.js';
import { DataTable } from '../components/data-table.js';
import { useLoaded } from '../components/use-loaded.js';
import { ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';

const EXAMPLE = '[\n  { "name": "${namespace}/*", "actions": ["pull"] }\n]';

export function summarise(p: Permission): string {
  const where = [p.request_type && `type ${p.request_type}`, p.name && `on ${p.name}`, p.service && `service ${p.service}`, p.ip && `from ${p.ip}`]
    .concat(Object.entries(p.labels ?? {}).map(([k, v]) => `label ${k}=${v}`))
    .filter(Boolean);
  return `${p.actions.join(', ')}${where.length ? ` ${where.join(', ')}` : ' on anything'}`;
}

/** Inline check while typing: JSON that is an array (or one object) of permissions; the server checks the rest. */
function jsonProblem(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return 'permissions: must be a JSON array of permissions (or one permission object)';
    return undefined;
  } catch (e) {
    return `permissions: not valid JSON (${(e as Error).message})`;
  }
}

function NewRole({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [perms, setPerms] = useState(EXAMPLE);
  const [errors, setErrors] = useState<Errors>({});
  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    const bad = jsonProblem(perms);
    if (bad) return setErrors({ permissions: bad });
    try {
      await api.createRole(name, JSON.parse(perms));
      onDone();
    } catch (err) {
      setErrors(errorsFrom(err, { name: 'name', permissions: 'permissions', body: 'permissions' }));
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="New role" noValidate>
      <h2>New role</h2>
      <Field id="role-name" label="Name" error={errors.name}>
        {(a) => <input {...a} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <Field id="role-permissions" label="Permissions" error={errors.permissions} hint="JSON: a list of { name, actions, service, request_type, ip, labels }; ${account} and ${namespace} are filled in per binding.">
        {(a) => <textarea {...a} rows={6} value={perms} onInput={(e) => (setPerms(e.currentTarget.value), setErrors({ permissions: jsonProblem(e.currentTarget.value) ?? '' }))} />}
      </Field>
      <ErrorText id="new-role-error" error={errors.form} />
      <button type="submit">Save</button>
    </form>
  );
}

function DeleteRole({ role, onDone, onCancel }: { role: string; onDone: () => void; onCancel: () => void }) {
  // A bound role is refused (409) unless forced: the panel then shows the conflict and offers the forced delete.
  const [conflict, setConflict] = useState(false);
  const remove = async () => {
    try {
      await api.deleteRole(role, conflict);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setConflict(true);
      throw e;
    }
    onDone();
  };
  return (
    <Confirm label={`Delete role ${role}`} confirm={conflict ? 'Delete role and its bindings' : 'Confirm delete'} errorId="delete-role-error" onConfirm={remove} onCancel={onCancel}>
      Delete role “{role}”? Requests it grants will be denied.
    </Confirm>
  );
}

export function Roles() {
  const { data, error, load } = useLoaded(() => api.roles());
  const roles: RoleRecord[] | null = data?.roles ?? null;
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const done = () => (setCreating(false), setDeleting(null), void load());
  return (
    <section>
      <h1>Roles</h1>
      <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
        New role
      </button>
      {creating ? <NewRole onDone={done} /> : null}
      {deleting ? <DeleteRole key={deleting} role={deleting} onDone={done} onCancel={() => setDeleting(null)} /> : null}
      <ErrorText id="roles-error" error={error} />
      <DataTable
        rows={roles}
        caption={`${roles?.length ?? 0} role(s)`}
        columns={['Name', 'Permissions']}
        rowKey={(r) => r.name}
        cells={(r) => [
          r.name,
          <ul class="plain">{r.permissions.map((p, i) => <li key={i}>{summarise(p)}</li>)}</ul>,
          <button type="button" aria-label={`Delete role ${r.name}`} onClick={() => setDeleting(r.name)}>
            Delete
          </button>,
        ]}
      />
    </section>
  );
}
