// The SOCKS5 client's pure parts: proxy URLs and the CONNECT address (RFC 1928 section 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyError, connectAddress, parseProxyUrl } from '../../src/net/socks5.ts';

test('proxy URLs: socks5h (or socks5) host:port, optional credentials, nothing else', () => {
  assert.deepEqual(parseProxyUrl('socks5h://127.0.0.1:9050'), { host: '127.0.0.1', port: 9050 });
  assert.deepEqual(parseProxyUrl('socks5://[::1]:9150'), { host: '::1', port: 9150 });
  assert.deepEqual(parseProxyUrl('socks5h://al%40ice:p%3Ass@proxy.example:1080'), { host: 'proxy.example', port: 1080, username: 'al@ice', password: 'p:ss' });
  for (const bad of ['http://127.0.0.1:9050', 'socks4://127.0.0.1:9050', 'socks5h://127.0.0.1', 'socks5h://127.0.0.1:0', 'socks5h://127.0.0.1:9050/path', '127.0.0.1:9050', '']) {
    assert.throws(() => parseProxyUrl(bad), (e: unknown) => ProxyError.is(e, 'BAD_PROXY_URL'), bad);
  }
});

test('CONNECT addresses: IPv4 and IPv6 literals as such, names (.onion too) left to the proxy', () => {
  assert.deepEqual([...connectAddress('127.0.0.1')], [1, 127, 0, 0, 1]);
  assert.deepEqual([...connectAddress('[2001:db8::1]')], [4, 0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
  assert.deepEqual([...connectAddress('::ffff:1.2.3.4')], [4, ...new Array<number>(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]);
  const onion = `${'a'.repeat(56)}.onion`;
  assert.deepEqual([...connectAddress(onion)], [3, onion.length, ...Buffer.from(onion)]);
  assert.throws(() => connectAddress('a'.repeat(256)), (e: unknown) => ProxyError.is(e, 'BAD_PROXY_URL'));
});
