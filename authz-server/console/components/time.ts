/** A stored ISO time as the tables show it (to the second, UTC), or `none` when there is none. */
export const when = (iso: string | null, none: string): string => (iso ? new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z') : none);
