/**
 * The list every page shows: "Loading…" until the rows arrive, then a table with a caption (announced
 * when it changes), one header per column and a last, visually empty column for each row's buttons
 * (named for screen readers by `manage`).
 */
import type { ComponentChildren } from 'preact';

interface DataTableProps<T> {
  rows: T[] | null;
  caption: ComponentChildren;
  columns: string[];
  /** The screen-reader name of the buttons' column. */
  manage?: string;
  rowKey: (row: T) => string | number;
  /** The row's cells, one per column, then its buttons. */
  cells: (row: T) => ComponentChildren[];
}

export function DataTable<T>({ rows, caption, columns, manage = 'Actions', rowKey, cells }: DataTableProps<T>) {
  if (rows === null) return <p>Loading…</p>;
  return (
    <table>
      <caption aria-live="polite">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c}>
              {c}
            </th>
          ))}
          <th scope="col">
            <span class="sr-only">{manage}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)}>
            {cells(r).map((c, i) => (
              <td key={i}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
