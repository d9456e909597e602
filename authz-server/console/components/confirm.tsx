/**
 * The question before an action that cannot be undone (revoke a token, delete a robot or a role): a group
 * named after the action, the question, the action's failure beside it (`role="alert"`), then the danger
 * button and Cancel. What happens on success (close the panel, reload) is the caller's `onConfirm`.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorText } from './field.js';

interface ConfirmProps {
  /** The group's accessible name, e.g. `Delete robot:team-a+ci`. */
  label: string;
  /** The danger button's text, e.g. `Confirm delete`. */
  confirm: string;
  /** The action; a rejection's message is shown in the panel. */
  onConfirm: () => Promise<unknown>;
  onCancel: () => void;
  errorId: string;
  /** The question, with what the action costs. */
  children: ComponentChildren;
}

export function Confirm({ label, confirm, onConfirm, onCancel, errorId, children }: ConfirmProps) {
  const [error, setError] = useState<string | undefined>();
  const run = () => onConfirm().catch((e: Error) => setError(e.message));
  return (
    <div class="panel" role="group" aria-label={label}>
      <p>{children}</p>
      <ErrorText id={errorId} error={error} />
      <button type="button" class="danger" onClick={() => void run()}>
        {confirm}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
