/** What a form was submitted with, by control name (the page does not reload). */
export function submitted(e: Event) {
  e.preventDefault();
  const f = (e.currentTarget as HTMLFormElement).elements;
  const input = (n: string) => f.namedItem(n) as HTMLInputElement;
  return {
    value: (n: string): string => input(n).value,
    /** The ticked options of a {@link Checkboxes} group named `name`. */
    ticked: <T extends string>(name: string, options: readonly T[]): T[] => options.filter((o) => input(`${name}-${o}`).checked),
  };
}
