// The small part of bitcore-lib 11 the devnet uses (it ships no typings). bitcore is the
// independent script interpreter: transactions are built with @scure/btc-signer and
// checked here, so one library's bug cannot both create and accept a bad transaction.
declare module 'bitcore-lib' {
  namespace bitcore {
    class Script {
      constructor(from?: Buffer | string);
    }
    namespace Script {
      class Interpreter {
        constructor();
        errstr: string;
        verify(scriptSig: Script, scriptPubkey: Script, tx: Transaction, nin: number, flags: number, witness: Buffer[] | null, satoshis: number): boolean;
        static readonly [flag: `SCRIPT_${string}`]: number;
      }
    }
    class Transaction {
      constructor(raw?: Buffer | string);
      inputs: { output?: Transaction.Output; witnesses: Buffer[] }[];
    }
    namespace Transaction {
      class Output {
        constructor(o: { satoshis: number; script: Script | Buffer });
      }
    }
  }
  export default bitcore;
}
