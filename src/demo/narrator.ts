/**
 * The demo's voice. Everything the demo prints goes through here, one line at a time, to a
 * sink the caller chooses (stdout for `npm run demo`, an array in the in-process test), so
 * the story is testable line by line and nothing else writes to the terminal.
 */
export type LineSink = (line: string) => void;

export interface TxFigure {
  label: string;
  txid: string;
  vsize: number;
  fee: number;
}

export class Narrator {
  private steps = 0;
  /** Every transaction narrated, in order, for the closing summary. */
  readonly txs: TxFigure[] = [];

  constructor(private readonly out: LineSink) {}

  step(title: string): void {
    this.steps++;
    this.out('');
    this.out(`== ${this.steps}. ${title}`);
  }

  say(text: string): void {
    this.out(`   ${text}`);
  }

  /** A transaction line, also recorded for the summary. */
  tx(label: string, t: { txid: string; vsize: number; fee: number }): void {
    this.txs.push({ label, txid: t.txid, vsize: t.vsize, fee: t.fee });
    this.say(`${label}: txid ${t.txid} (${t.vsize} vB, fee ${sats(t.fee)})`);
  }

  raw(line: string): void {
    this.out(line);
  }
}

export function sats(n: number): string {
  return `${n.toLocaleString('en-US')} sats`;
}

/** First and last hex digits: enough to recognise a key or hash across lines. */
export function short(hexString: string): string {
  return hexString.length <= 16 ? hexString : `${hexString.slice(0, 8)}…${hexString.slice(-8)}`;
}
