/**
 * Bindings: the table, filtered by the API (`q`: a substring of account, role or namespace) one page
 * at a time, so 10,000 bindings cost one page of rows in the browser. The filter is in the URL.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type BindingRecord, type RoleRecord } from '../api.js';
import { DataTable } from '../components/data-table.js';
import { useLoaded } from '../components/use-loaded.js';
import { ErrorText, Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';
import { submitted } from '../components/form-values.js';
import { BASE, navigate } from '../router.js';

const PAGE = 100;

function NewBinding({ onDone }: { onDone: () => void }) {
  const [roles, setRoles] = useState<RoleRecord[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  useEffect(() => void api.roles().then((r) => setRoles(r.roles), (e: Error) => setErrors({ form: e.message })), []);
  const submit = async (e: Event) => {
    const { value } = submitted(e);
    setErrors({});
    const namespace = value('namespace');
    try {
      const out = await api.addBinding({ account_name: value('account'), role_name: value('role'), ...(namespace ? { namespace } : {}) });
      // An identical binding is not an error for the API (200, created: false); for a form it is.
      if (!out.created) return setErrors({ account: out.message });
      onDone();
    } catch (err) {
      setErrors(errorsFrom(err, { account_name: 'account', role_name: 'role', namespace: 'namespace' }));
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="New binding" noValidate>
      <h2>New binding</h2>
      <Field id="binding-account" label="Account" error={errors.account} hint="An account, a glob (system:serviceaccount:ci:*) or <anonymous>.">
        {(a) => <input {...a} name="account" />}
      </Field>
      <Field id="binding-role" label="Role" error={errors.role}>
        {(a) => (
          <select {...a} name="role">
            {roles.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id="binding-namespace" label="Namespace" error={errors.namespace} hint="Optional: fills ${namespace} in the role's patterns.">
        {(a) => <input {...a} name="namespace" />}
      </Field>
      <ErrorText id="new-binding-error" error={errors.form} />
      <button type="submit">Save</button>
    </form>
  );
}

export function Bindings({ url }: { url: URL }) {
  const q = url.searchParams.get('q') ?? '';
  const [text, setText] = useState(q);
  const [pages, setPages] = useState<number[]>([0]); // `after` of each page seen so far
  const [creating, setCreating] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const after = pages[pages.length - 1] ?? 0;

  const { data, error, setError, load } = useLoaded(() => api.bindings(q, after, PAGE), [q, after]);
  const rows: BindingRecord[] | null = data?.bindings ?? null;
  const next = data?.next ?? null;
  useEffect(() => setPages([0]), [q]);

  const onFilter = (v: string) => {
    setText(v);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => navigate(`${BASE}/bindings${v ? `?q=${encodeURIComponent(v)}` : ''}`, true), 200);
  };
  const remove = async (b: BindingRecord) => {
    try {
      await api.deleteBinding({ account_name: b.account_name, role_name: b.role_name, ...(b.namespace !== null ? { namespace: b.namespace } : {}) });
      void load();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section>
      <h1>Bindings</h1>
      <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
        New binding
      </button>
      {creating ? <NewBinding onDone={() => (setCreating(false), void load())} /> : null}
      <Field id="bindings-filter" label="Filter" hint="Part of an account, role or namespace.">
        {(a) => <input {...a} type="search" value={text} onInput={(e) => onFilter(e.currentTarget.value)} />}
      </Field>
      <ErrorText id="bindings-error" error={error} />
      <DataTable
        rows={rows}
        caption={`Page ${pages.length}: ${rows?.length ?? 0} binding(s)${q ? ` matching “${q}”` : ''}`}
        columns={['Account', 'Role', 'Namespace']}
        rowKey={(b) => b.id}
        cells={(b) => [
          b.account_name,
          b.role_name,
          b.namespace ?? '—',
          <button type="button" aria-label={`Delete binding ${b.account_name} ${b.role_name} ${b.namespace ?? ''}`.trim()} onClick={() => void remove(b)}>
            Delete
          </button>,
        ]}
      />
      <nav aria-label="Pages" class="pager">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={next === null} onClick={() => next !== null && setPages([...pages, next])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
