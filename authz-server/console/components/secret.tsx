/**
 * A new secret (a robot's, an API token), shown once: it is not stored and cannot be shown again.
 * **Copy** puts it on the clipboard; `children` add what the secret is used with (docker login lines).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

interface SecretOnceProps {
  heading: string;
  /** The secret field's label (`Secret`, `Token`). */
  label: string;
  secret: string;
  /** What to do when it is lost. */
  lost: string;
  onClose: () => void;
  children?: ComponentChildren;
}

export function SecretOnce({ heading, label, secret, lost, onClose, children }: SecretOnceProps) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(`${label} copied.`);
    } catch {
      setCopied(`Copy is not allowed here: select the ${label.toLowerCase()} and copy it by hand.`);
    }
  };
  return (
    <div class="panel secret" role="region" aria-label="New secret">
      <h2>{heading}</h2>
      <p>Shown once: it is not stored and cannot be shown again. {lost}</p>
      <label for="secret-once">{label}</label>
      <input id="secret-once" readOnly value={secret} />
      <button type="button" onClick={() => void copy()}>
        Copy
      </button>
      <p role="status">{copied}</p>
      {children}
      <button type="button" onClick={onClose}>
        Done
      </button>
    </div>
  );
}
