/**
 * The one way the CLI writes an amount: "12,345 sat" (thousands separated, whatever the
 * locale, so scripts and people read the same text), and a total with its parts.
 */
export function sats(n: number): string {
  return `${grouped(n)} sat`;
}

/**
 * "-12,345": rounded to a whole number, thousands separated by ",". Written out rather than
 * `Intl.NumberFormat`: constructing one loads ICU's locale data, ~35 ms of every command's start.
 */
export function grouped(n: number): string {
  const digits = String(Math.abs(Math.round(n)));
  return (n < 0 && Math.round(n) !== 0 ? '-' : '') + digits.replace(/\B(?=(\d{3})+$)/g, ',');
}

/** "1,514 sat (price 1,000 sat + funding fee 514 sat)": a total and the named parts it adds up. */
export function total(parts: [label: string, amount: number][]): string {
  const shown = parts.filter(([, n]) => n !== 0);
  const sum = parts.reduce((s, [, n]) => s + n, 0);
  if (shown.length <= 1) return sats(sum);
  return `${sats(sum)} (${shown.map(([label, n]) => `${label} ${sats(n)}`).join(' + ')})`;
}
