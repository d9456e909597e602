/**
 * Tokens (the admin's): the scoped API tokens; New token (Name, Namespaces, Abilities, Expires in) →
 * the token shown once; Revoke after a confirmation (its sessions end on their next request). A scoped
 * token is not linked here; at the URL it sees the API's refusal.
 */
import { useState } from 'preact/hooks';
import { ABILITIES } from '../../src/auth/abilities.js';
import { api, type ApiToken, type NewApiToken } from '../api.js';
import { Confirm } from '../components/confirm.js';
import { DataTable } from '../components/data-table.js';
import { useLoaded } from '../components/use-loaded.js';
import { Checkboxes, ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';
import { submitted } from '../components/form-values.js';
import { SecretOnce } from '../components/secret.js';
import { when } from '../components/time.js';

const ABILITIES_HINT =
  'read: see roles, bindings and robots · robots:rotate: rotate robots · robots:manage: create, rotate and delete robots · bindings:manage: add and delete bindings — each within its namespaces.';
const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter(Boolean);

function NewToken({ onCreated }: { onCreated: (t: NewApiToken) => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const submit = async (e: Event) => {
    const { value, ticked } = submitted(e);
    setErrors({});
    const ttl = value('ttl');
    try {
      onCreated(await api.createToken({ name: value('name'), namespaces: list(value('namespaces')), abilities: ticked('ability', ABILITIES), ...(ttl ? { ttl } : {}) }));
    } catch (err) {
      setErrors(errorsFrom(err, { name: 'name', namespaces: 'namespaces', abilities: 'abilities', ttl: 'ttl' }));
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="New token" noValidate>
      <h2>New token</h2>
      <Field id="token-name" label="Name" error={errors.name} hint="Who uses it, e.g. team-a-ci: the audit log names changes by it.">
        {(a) => <input {...a} name="name" />}
      </Field>
      <Field id="token-namespaces" label="Namespaces" error={errors.namespaces} hint="Comma-separated: team-a, team-b, a glob (team-*), or * for all.">
        {(a) => <input {...a} name="namespaces" />}
      </Field>
      <Checkboxes id="token-abilities" legend="Abilities" name="ability" options={ABILITIES} error={errors.abilities} hint={ABILITIES_HINT} />
      <Field id="token-ttl" label="Expires in" error={errors.ttl} hint="Optional, e.g. 90d or 12h; empty: never.">
        {(a) => <input {...a} name="ttl" />}
      </Field>
      <ErrorText id="new-token-error" error={errors.form} />
      <button type="submit">Create</button>
    </form>
  );
}

export function Tokens({ admin }: { admin: boolean }) {
  const { data, error, load } = useLoaded(() => api.tokens());
  const tokens: ApiToken[] | null = data?.tokens ?? null;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<NewApiToken | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  return (
    <section>
      <h1>Tokens</h1>
      {admin ? (
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          New token
        </button>
      ) : null}
      {creating ? <NewToken onCreated={(t) => (setCreated(t), setCreating(false), void load())} /> : null}
      {revoking ? (
        <Confirm key={revoking} label={`Revoke ${revoking}`} confirm="Confirm revoke" errorId="revoke-token-error" onConfirm={() => api.revokeToken(revoking).then(() => (setRevoking(null), void load()))} onCancel={() => setRevoking(null)}>
          Revoke {revoking}? Requests and console sessions using it are refused from their next call, on every replica.
        </Confirm>
      ) : null}
      {created ? (
        <SecretOnce heading={`Token ${created.name}`} label="Token" secret={created.token} lost="Revoke it and make another if it is lost." onClose={() => setCreated(null)}>
          <p>Send it as “Authorization: Bearer …” to authz's REST API, or sign in to this console with it.</p>
        </SecretOnce>
      ) : null}
      <ErrorText id="tokens-error" error={error} />
      {error && tokens === null ? null : (
        <DataTable
          rows={tokens}
          caption={`${tokens?.length ?? 0} token(s)`}
          columns={['Name', 'Namespaces', 'Abilities', 'Expires', 'Last used']}
          manage="Manage"
          rowKey={(t) => t.id}
          cells={(t) => [
            t.name,
            t.namespaces.join(', '),
            t.abilities.join(', '),
            t.expired ? `expired ${when(t.expires_at, '')}` : when(t.expires_at, 'never'),
            when(t.last_used_at, '—'),
            <button type="button" aria-label={`Revoke ${t.name}`} onClick={() => setRevoking(t.name)}>
              Revoke
            </button>,
          ]}
        />
      )}
    </section>
  );
}
