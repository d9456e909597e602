/** A plain JSON object (not null, not an array): the one guard every parser of untrusted JSON uses. */
export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
