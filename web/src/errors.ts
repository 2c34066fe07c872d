/**
 * Every error code the app can meet, as a sentence with what to do next: the one place the
 * page turns codes into words. Unknown codes fall back to the server's own message.
 */
const SENTENCES: Record<string, string> = {
  WRONG_PASSPHRASE: 'That passphrase does not unlock this identity. Check Caps Lock and try again.',
  EMPTY_PASSPHRASE: 'Type a passphrase first.',
  INVALID_ADDRESS: 'That is not a satpost address. Ask your contact to copy their whole address (it starts with "satpost") and paste it again.',
  BAD_ENCODING: 'That is not a satpost address. Ask your contact to copy their whole address (it starts with "satpost") and paste it again.',
  BAD_HINT: 'That address names a relay that cannot be used. Ask your contact for a fresh copy of their address.',
  WRONG_NETWORK: 'That address belongs to another Bitcoin network than this app. Ask your contact for the address of the same network.',
  NETWORK_MISMATCH: 'That address belongs to another Bitcoin network than this app. Ask your contact for the address of the same network.',
  INVALID_NAME: 'Give the contact a short name: letters, digits, dots, dashes or underscores, no spaces.',
  CONTACT_EXISTS: 'You already have a contact with that name or that address. Pick another name, or open the existing contact.',
  UNKNOWN_CONTACT: 'There is no contact by that name. Add the contact first.',
  CONTACT_KEY_CHANGED: 'This contact\'s safety number changed. Check the new number with them before you send anything.',
  INSUFFICIENT_FUNDS: 'Your wallet does not hold enough spendable coins for this. Add coins on the Wallet screen (or wait for incoming coins to confirm) and try again.',
  NO_RELAYS: 'This identity has no relay to keep its mail. Add a relay first.',
  BAD_RELAY_URL: 'That is not a relay address. A relay address looks like https://relay.example.org (or http://127.0.0.1:8090 on the development network).',
  INSECURE_RELAY_URL: 'Outside the development network a relay must be reached over https (or a .onion address through Tor).',
  RELAY_EXISTS: 'That relay is already one of yours.',
  UNKNOWN_RELAY: 'That relay is not one of yours.',
  LAST_RELAY: 'This is your only relay: nobody could reach you without one. Add another before you remove it.',
  RELAY_UNREACHABLE: 'The relay cannot be reached right now. Check your connection or try again in a minute; nothing was lost and nothing was paid.',
  BAD_RELAY_ANSWER: 'The relay answered something unexpected. Try again later, or use another relay.',
  NO_BUNDLE: 'Your contact has not published their keys at their relay yet. Ask them to open satpost once, then try again.',
  NO_ACCEPTABLE_QUOTE: 'No relay offered a price within your limit. Raise the limit or try again later.',
  PRICE_TOO_HIGH: 'Reading this costs more than your auto-pay limit. Raise the limit if you want to pay it.',
  UNKNOWN_SENDER: 'This message is from someone who is not in your contacts. Add them first if you want to pay to read it.',
  MESSAGE_NOT_FOUND: 'That message is no longer there. It may have expired.',
  MESSAGE_EXPIRED: 'That message expired before it was read; its payment goes back to the sender.',
  MESSAGE_CORRUPT: 'The relay\'s copy of this message is damaged; nothing was paid.',
  RELAY_FRAUD: 'The relay cheated on this message: the proof is saved and that relay is no longer used.',
  WAIT_TIMEOUT: 'This is taking longer than expected. It carries on in the background; check back in a few minutes.',
  IN_FLIGHT_NOT_EMPTY: 'Messages paid through this channel are still unread. Close it once they are read or expired.',
  CHANNEL_TERMS: 'The relay does not accept a channel of that size or length. Try another amount.',
  CHANNELS_UNAVAILABLE: 'This relay does not offer payment channels.',
  BAD_ADDRESS: 'That is not a Bitcoin address of this network. Check it and paste it again.',
  BAD_AMOUNT: 'Enter an amount in whole satoshis, more than zero.',
  DUST_OUTPUT: 'That amount is too small to send on its own. Send at least a few hundred satoshis.',
  BACKEND_UNAVAILABLE: 'The Bitcoin network cannot be reached right now. Check your connection and try again.',
  NO_FAUCET: 'Test coins are only available on the development network, and it is not reachable.',
  BAD_RECOVERY_PHRASE: 'That is not a recovery phrase. Type the 12 (or 24) words you wrote down, in order, separated by spaces.',
  WRONG_RECOVERY_PHRASE: 'This address book file was not made by the wallet of that recovery phrase. Check the words, or choose the file that wallet exported.',
  BAD_BACKUP: 'That file is not a satpost address book, or it is damaged. Choose the file that "Export address book" saved.',
  LOCKED: 'The app is locked. Unlock it with your passphrase.',
  NOT_INITIALIZED: 'There is no identity yet. Create one first.',
  NO_TOKEN: 'This page lost its access. Open the link that `satpost app` printed.',
  BAD_CSRF: 'This page is out of date. Reload it.',
  BAD_ORIGIN: 'This request came from another site and was refused.',
  BAD_REQUEST: 'Something in the form is missing or not valid. Check the fields and try again.',
  NETWORK_DOWN: 'The satpost app on this computer does not answer. Is `satpost app` still running?',
};

export interface ApiError { code: string; message: string }

export function sentence(e: ApiError): string {
  return SENTENCES[e.code] ?? `${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}${/[.!?]$/.test(e.message) ? '' : '.'}`;
}
