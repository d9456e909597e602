/** A labelled control with its error beside it (`role="alert"`, linked by aria-describedby). */
import type { ComponentChildren } from 'preact';

export function ErrorText({ id, error }: { id: string; error: string | undefined }) {
  return error ? (
    <p class="error" role="alert" id={id}>
      {error}
    </p>
  ) : null;
}

interface FieldProps {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string;
  children: (aria: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ComponentChildren;
}

/** The ids a control is described by: its error (first: read out first), then its hint. */
const describedBy = (id: string, error: string | undefined, hint: string | undefined): string =>
  [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ');

function Notes({ id, error, hint }: { id: string; error: string | undefined; hint: string | undefined }) {
  return (
    <>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <ErrorText id={`${id}-error`} error={error} />
    </>
  );
}

export function Field({ id, label, error, hint, children }: FieldProps) {
  const described = describedBy(id, error, hint);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children({ id, 'aria-invalid': !!error, ...(described ? { 'aria-describedby': described } : {}) })}
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

interface CheckboxesProps {
  id: string;
  legend: string;
  /** Each box is named `${name}-${option}` and labelled with the option itself. */
  name: string;
  options: readonly string[];
  checked?: readonly string[];
  error?: string | undefined;
  hint?: string;
}

/** A group of checkboxes (a robot's actions, a token's abilities) with its error beside it. */
export function Checkboxes({ id, legend, name, options, checked = [], error, hint }: CheckboxesProps) {
  const described = describedBy(id, error, hint);
  return (
    <fieldset aria-describedby={described || undefined}>
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o}>
          <input type="checkbox" name={`${name}-${o}`} defaultChecked={checked.includes(o)} /> {o}
        </label>
      ))}
      <Notes id={id} error={error} hint={hint} />
    </fieldset>
  );
}
