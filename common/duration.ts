/** Parses `90s`, `5m`, `1h`, `30d`, `1h30m` or a bare number of seconds into seconds. Throws with a clear message. */
export function parseDurationSeconds(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n * 86400;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== t.length) throw new Error(`invalid duration "${text}" (use e.g. 90s, 5m, 1h, 30d)`);
  return total;
}
