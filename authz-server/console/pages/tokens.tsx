/** Tokens: the scoped API tokens (only linked when the server reports they exist); read-only list. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorText } from '../components/field.js';

export function Tokens() {
  const [tokens, setTokens] = useState<Array<Record<string, unknown>> | null>(null);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => void api.tokens().then((t) => setTokens(t.tokens), (e: Error) => setError(e.message)), []);
  const cols = ['name', 'namespaces', 'abilities', 'expires_at'];
  return (
    <section>
      <h1>Tokens</h1>
      <ErrorText id="tokens-error" error={error} />
      {tokens ? (
        <table>
          <thead>
            <tr>{cols.map((c) => <th scope="col" key={c}>{c}</th>)}</tr>
          </thead>
          <tbody>
            {tokens.map((t, i) => (
              <tr key={i}>{cols.map((c) => <td key={c}>{Array.isArray(t[c]) ? (t[c] as unknown[]).join(', ') : String(t[c] ?? '—')}</td>)}</tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
