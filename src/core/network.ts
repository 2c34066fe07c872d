/**
 * Bitcoin networks satpost knows. The devnet follows regtest rules and addresses
 * (bech32 prefix "bcrt"); the same code runs on signet/testnet/mainnet by choosing
 * another entry. Shapes match @scure/btc-signer's network objects.
 */
export type NetworkName = 'regtest' | 'signet' | 'testnet' | 'mainnet';

export interface BtcNetwork {
  name: NetworkName;
  bech32: string;
  pubKeyHash: number;
  scriptHash: number;
  wif: number;
  /** BIP44 coin type used in derivation paths (0 mainnet, 1 every test network). */
  coinType: 0 | 1;
}

export const NETWORKS: Record<NetworkName, BtcNetwork> = {
  regtest: { name: 'regtest', bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, coinType: 1 },
  signet: { name: 'signet', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, coinType: 1 },
  testnet: { name: 'testnet', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, coinType: 1 },
  mainnet: { name: 'mainnet', bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80, coinType: 0 },
};

export function isNetworkName(s: string): s is NetworkName {
  return Object.hasOwn(NETWORKS, s);
}
