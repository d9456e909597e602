/**
 * A robot's new secret, shown once: Copy, a ready `docker login` line and a `.dockerconfigjson` for
 * the registry host authz was told about (`--registry-host`).
 */
import { useState } from 'preact/hooks';

export function dockerConfigJson(host: string, user: string, secret: string): string {
  return JSON.stringify({ auths: { [host]: { auth: btoa(`${user}:${secret}`) } } }, null, 2);
}

export function SecretOnce({ account, secret, registryHost, onClose }: { account: string; secret: string; registryHost: string | null; onClose: () => void }) {
  const [copied, setCopied] = useState('');
  const host = registryHost ?? '<registry-host>';
  const login = `echo '${secret}' | docker login ${host} --username '${account}' --password-stdin`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Secret copied.');
    } catch {
      setCopied('Copy is not allowed here: select the secret and copy it by hand.');
    }
  };
  return (
    <div class="panel secret" role="region" aria-label="New secret">
      <h2>Secret for {account}</h2>
      <p>Shown once: it is not stored and cannot be shown again. Rotate the robot if it is lost.</p>
      <label for="robot-secret">Secret</label>
      <input id="robot-secret" readOnly value={secret} />
      <button type="button" onClick={() => void copy()}>
        Copy
      </button>
      <p role="status">{copied}</p>
      {registryHost ? null : <p>authz was not given --registry-host: replace &lt;registry-host&gt; below.</p>}
      <label for="robot-login">docker login</label>
      <textarea id="robot-login" readOnly rows={2} value={login} />
      <label for="robot-dockerconfig">.dockerconfigjson</label>
      <textarea id="robot-dockerconfig" readOnly rows={7} value={dockerConfigJson(host, account, secret)} />
      <button type="button" onClick={onClose}>
        Done
      </button>
    </div>
  );
}
