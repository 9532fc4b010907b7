// How single values read in human output. Timestamps stay UTC ISO so two
// operators in different time zones quote the same string.

export function formatTimestamp(iso: string | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** Metric values: integers as they are, fractions to four significant digits. */
export function formatNumber(value: number | null): string {
  if (value === null) return 'no data';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

export function orDash(value: string | number | null | undefined): string {
  return value === undefined || value === null || value === '' ? '-' : String(value);
}
