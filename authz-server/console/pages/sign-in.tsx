/** Sign-in: the admin token (or a scoped API token) for a session cookie; then back where the user was. */
import { useState } from 'preact/hooks';
import { api, type SessionInfo } from '../api.js';
import { Field } from '../components/field.js';
import { errorsFrom, type Errors } from '../components/form-errors.js';

export function SignIn({ onSignedIn, expired }: { onSignedIn: (s: SessionInfo) => void; expired: boolean }) {
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('token') as HTMLInputElement;
    setBusy(true);
    try {
      const s = await api.signIn(input.value);
      input.value = '';
      onSignedIn(s);
    } catch (err) {
      setErrors(errorsFrom(err, { token: 'token', origin: 'token' }));
      input.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>tollgate console</h1>
      {expired ? <p role="status">Your session ended. Sign in again to continue.</p> : null}
      <form onSubmit={submit} noValidate>
        <Field id="token" label="Token" error={errors.token ?? errors.form} hint="The admin token, or a namespace-scoped API token. It is exchanged for a session and not kept.">
          {(aria) => <input {...aria} name="token" type="password" autocomplete="off" required />}
        </Field>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
