import { describe, expect, it } from 'vitest';
import { Allowlist } from '../src/allowlists/index.js';
import { canonicalDomain, canonicalize, canonicalIp, canonicalUrl } from '../src/indicators/canonical.js';
import { formatIp, parseIp } from '../src/indicators/ip.js';
import type { Indicator } from '../src/indicators/types.js';

function ok(raw: string, allow?: Parameters<typeof canonicalize>[1]): Indicator[] {
  const r = canonicalize(raw, allow);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(raw)} to be valid, got: ${r.reason}`);
  return r.indicators;
}

function reason(raw: string, allow?: Parameters<typeof canonicalize>[1]): string {
  const r = canonicalize(raw, allow);
  if (r.ok) throw new Error(`expected ${JSON.stringify(raw)} to be rejected, got ${JSON.stringify(r.indicators)}`);
  return r.reason;
}

const ip = (value: string): Indicator => ({ type: 'ip', value });
const cidr = (value: string): Indicator => ({ type: 'cidr', value });
const domain = (value: string): Indicator => ({ type: 'domain', value });
const url = (value: string): Indicator => ({ type: 'url', value });

describe('canonicalize: IP addresses', () => {
  it('keeps canonical IPv4 and trims whitespace', () => {
    expect(ok('45.95.146.22')).toEqual([ip('45.95.146.22')]);
    expect(ok('  \t185.156.73.54 \r')).toEqual([ip('185.156.73.54')]);
    expect(ok('0.0.0.0')).toEqual([ip('0.0.0.0')]);
    expect(ok('255.255.255.255')).toEqual([ip('255.255.255.255')]);
  });

  it('accepts fixed-width zero padding but rejects ambiguous leading zeros', () => {
    expect(ok('045.095.146.001')).toEqual([ip('45.95.146.1')]);
    expect(reason('089.248.165.1')).toBe('invalid IPv4 address');
    expect(reason('010.1.1.1')).toBe('invalid IPv4 address');
  });

  it('rejects malformed IPv4', () => {
    for (const bad of ['300.1.1.1', '45.9.20.256', '1.2.3', '1.2.3.4.5', '1..2.3']) expect(reason(bad)).toBe('invalid IPv4 address');
  });

  it('writes IPv6 in RFC 5952 form and maps IPv4-mapped addresses to IPv4', () => {
    expect(ok('2A01:04F8:0C17:0000:0000:0000:0000:0001')).toEqual([ip('2a01:4f8:c17::1')]);
    expect(ok('2001:db8:0:0:1:0:0:1')).toEqual([ip('2001:db8::1:0:0:1')]);
    expect(ok('::ffff:89.248.163.5')).toEqual([ip('89.248.163.5')]);
    expect(ok('::FFFF:59f8:a305')).toEqual([ip('89.248.163.5')]);
    expect(ok('[2a01:4f8:c17::1]')).toEqual([ip('2a01:4f8:c17::1')]);
    expect(reason('fe80::1%eth0')).toBe('invalid IPv6 address');
    expect(reason('2001:db8:::1')).toBe('invalid IPv6 address');
  });

  it('the IPv4 fast path agrees with parseIp/formatIp', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const parts = [rnd() % 300, rnd() % 256, rnd() % 256, rnd() % 260].map((n, j) => (j === i % 4 && i % 7 === 0 ? `0${n}` : String(n)));
      const text = parts.join('.');
      const ref = parseIp(text);
      const r = canonicalize(text);
      if (ref) expect(r).toEqual({ ok: true, indicators: [ip(formatIp(ref.version, ref.value))] });
      else if (!/^\d{3}\.\d{3}\.\d{3}\.\d{3}$/.test(text)) expect(r.ok).toBe(false); // fixed-width padding is accepted on purpose
    }
  });
});

describe('canonicalize: CIDRs and ranges', () => {
  it('normalises host bits to the network address', () => {
    expect(ok('5.188.206.14/24')).toEqual([cidr('5.188.206.0/24')]);
    expect(ok('62.204.41.0/23')).toEqual([cidr('62.204.40.0/23')]);
    expect(ok('2a01:4f8:1c1c:abcd::/48')).toEqual([cidr('2a01:4f8:1c1c::/48')]);
  });

  it('turns /32 and /128 into ip', () => {
    expect(ok('91.191.209.17/32')).toEqual([ip('91.191.209.17')]);
    expect(ok('2a01:4f8:c17::1/128')).toEqual([ip('2a01:4f8:c17::1')]);
  });

  it('maps IPv4-mapped IPv6 networks to IPv4', () => {
    expect(ok('::ffff:193.163.125.0/120')).toEqual([cidr('193.163.125.0/24')]);
  });

  it('rejects bad CIDRs and /0', () => {
    expect(reason('300.0.0.0/8')).toBe('invalid CIDR');
    expect(reason('45.95.146.0/33')).toBe('invalid CIDR');
    expect(reason('45.95.146.0/')).toBe('invalid CIDR');
    expect(reason('0.0.0.0/0')).toBe('prefix /0 covers the whole address space');
    expect(reason('malware-host-1.com/path')).toBe('path without URL scheme');
  });

  it('expands ranges into the minimal CIDR list', () => {
    expect(ok('185.81.68.0-185.81.68.255')).toEqual([cidr('185.81.68.0/24')]);
    expect(ok('185.81.68.0 - 185.81.68.255')).toEqual([cidr('185.81.68.0/24')]);
    expect(ok('193.32.162.0 -193.32.162.10')).toEqual([cidr('193.32.162.0/29'), cidr('193.32.162.8/31'), ip('193.32.162.10')]);
    expect(ok('45.95.146.7-45.95.146.7')).toEqual([ip('45.95.146.7')]);
    expect(ok('2a01:4f8::-2a01:4f8::ff')).toEqual([cidr('2a01:4f8::/120')]);
    expect(ok('0.0.0.0-255.255.255.255')).toHaveLength(1); // 0.0.0.0/0 as one block, still under the block limit
  });

  it('rejects bad ranges', () => {
    expect(reason('193.32.162.200-193.32.162.100')).toBe('range start is after its end');
    expect(reason('45.95.146.0-2a01:4f8::1')).toBe('range mixes IPv4 and IPv6');
    expect(reason('45.95.146.0-45.95.146.300')).toBe('invalid range end');
    expect(reason('300.1.1.0-300.1.1.255')).toBe('invalid range start');
  });
});

describe('canonicalize: domains', () => {
  it('lower-cases, drops the trailing dot and a wildcard prefix', () => {
    expect(ok('Login-PayPa1.NET')).toEqual([domain('login-paypa1.net')]);
    expect(ok('secure-update.co.uk.')).toEqual([domain('secure-update.co.uk')]);
    expect(ok('*.wild-card-phish.xyz')).toEqual([domain('wild-card-phish.xyz')]);
    expect(ok('1-engineer.ru')).toEqual([domain('1-engineer.ru')]);
    expect(ok('111.190.202.64.host.secureserver.net')).toEqual([domain('111.190.202.64.host.secureserver.net')]);
  });

  it('converts IDNs to punycode and keeps punycode as is', () => {
    expect(ok('bücher-login.de')).toEqual([domain('xn--bcher-login-thb.de')]);
    expect(ok('BÜCHER-LOGIN.DE')).toEqual([domain('xn--bcher-login-thb.de')]);
    expect(ok('xn--mnchen-phish-dlb.de')).toEqual([domain('xn--mnchen-phish-dlb.de')]);
    expect(ok('пример-фишинг.рф')).toEqual([domain('xn----ftbelcaymlkd3czc.xn--p1ai')]);
  });

  it('accepts private suffixes (github.io) with a registrable part', () => {
    expect(ok('account-verify.github.io')).toEqual([domain('account-verify.github.io')]);
  });

  it('accepts "_" inside host labels, lower-cased, as domains and URL hosts', () => {
    expect(ok('coinbase_1_login.godaddysites.com')).toEqual([domain('coinbase_1_login.godaddysites.com')]);
    expect(ok('Blackfe_Loginn.GoDaddySites.com')).toEqual([domain('blackfe_loginn.godaddysites.com')]);
    expect(ok('3_l_5_k.ck23.online')).toEqual([domain('3_l_5_k.ck23.online')]);
    expect(ok('trailing_.phish-host.com')).toEqual([domain('trailing_.phish-host.com')]);
    expect(ok('my_site.github.io')).toEqual([domain('my_site.github.io')]);
    expect(ok('http://coinbase_1_login.godaddysites.com/Login')).toEqual([
      url('http://coinbase_1_login.godaddysites.com/Login'),
      domain('coinbase_1_login.godaddysites.com'),
    ]);
  });

  it('refuses DNS record names (a label starting with "_") and "_" in an ICANN-registered name', () => {
    const recordName = 'DNS record name (a label starts with "_"), not a host';
    for (const name of ['_dmarc.example.com', '_sip._tcp.example.com', 'selector1._domainkey.example.com', 'default._bimi.073202.com', '_.example.com']) {
      expect(reason(name), name).toBe(recordName);
    }
    expect(reason('http://_dmarc.example.com/')).toBe(`URL host: ${recordName}`);
    expect(reason('evil_underscore.com')).toBe('"_" in a registered domain name');
    expect(reason('www.evil_underscore.co.uk')).toBe('"_" in a registered domain name');
    expect(reason('evil$dollar.com')).toBe('invalid character in domain');
    expect(reason(`${'x_'.repeat(32)}.com`)).toBe('domain label longer than 63 characters');
  });

  it('accepts hosts under private wildcard rules (*.compute-1.amazonaws.com, *.eth.limo) as domains and URL hosts', () => {
    expect(ok('ec2-1-2-3-4.compute-1.amazonaws.com')).toEqual([domain('ec2-1-2-3-4.compute-1.amazonaws.com')]);
    expect(ok('foo.eth.limo')).toEqual([domain('foo.eth.limo')]);
    expect(ok('0007E5FD.pinit.eth.limo')).toEqual([domain('0007e5fd.pinit.eth.limo')]);
    expect(ok('phish_kit.eth.limo')).toEqual([domain('phish_kit.eth.limo')]);
    expect(ok('bucket.s3.amazonaws.com')).toEqual([domain('bucket.s3.amazonaws.com')]);
    expect(ok('https://ec2-1-2-3-4.compute-1.amazonaws.com/x')).toEqual([
      url('https://ec2-1-2-3-4.compute-1.amazonaws.com/x'),
      domain('ec2-1-2-3-4.compute-1.amazonaws.com'),
    ]);
    expect(ok('https://foo.eth.limo/')).toEqual([url('https://foo.eth.limo/'), domain('foo.eth.limo')]);
  });

  it('refuses a public suffix itself, explicit or the base of a wildcard rule, saying why', () => {
    const suffix = 'domain is a public suffix (no registrable part; listing it would block every site under it)';
    for (const name of ['co.uk', 'github.io', 'eth.limo', 'compute-1.amazonaws.com', 's3.amazonaws.com', 'dweb.link', 'kawasaki.jp', 'foo.kawasaki.jp']) {
      expect(reason(name), name).toBe(suffix);
    }
    expect(reason('https://eth.limo/')).toBe(`URL host: ${suffix}`);
  });

  it('rejects unknown suffixes, localhost and malformed names, with reasons', () => {
    expect(reason('bücher.example')).toBe('unknown public suffix');
    expect(reason('phish.local')).toBe('unknown public suffix');
    expect(reason('localhost')).toBe('localhost is not a domain');
    expect(reason('intranet')).toBe('no public suffix');
    expect(reason('-badlabel.com')).toBe('domain label starts or ends with "-"');
    expect(reason('badlabel-.com')).toBe('domain label starts or ends with "-"');
    expect(reason('a..b.com')).toBe('empty domain label');
    expect(reason(`${'x'.repeat(64)}.com`)).toBe('domain label longer than 63 characters');
    expect(reason(`${'abcdefghi.'.repeat(26)}com`)).toBe('domain longer than 253 characters');
    expect(reason('1.2.3.4.5.6')).toBe('invalid IPv4 address');
    expect(reason('this is junk')).toBe('contains whitespace');
    expect(reason('')).toBe('empty value');
    expect(reason('   ')).toBe('empty value');
    expect(reason('malware-host-1.com:8080')).toBe('host:port is not an indicator');
    expect(reason('x'.repeat(9000))).toBe('value too long');
  });

  it('undoes defanging', () => {
    expect(ok('defanged-host[.]info')).toEqual([domain('defanged-host.info')]);
    expect(ok('defanged-host(.)info')).toEqual([domain('defanged-host.info')]);
    expect(ok('45.95.146[.]22')).toEqual([ip('45.95.146.22')]);
  });
});

describe('canonicalize: URLs', () => {
  it('normalises scheme, host, default port and fragment, and adds the host', () => {
    expect(ok('HTTPS://Login-PayPa1.NET:443/Secure/Index.php?acct=1#top')).toEqual([
      url('https://login-paypa1.net/Secure/Index.php?acct=1'),
      domain('login-paypa1.net'),
    ]);
    expect(ok('http://45.95.146.22:80/bins/mips')).toEqual([url('http://45.95.146.22/bins/mips'), ip('45.95.146.22')]);
    expect(ok('http://malware-host-1.com:8080')).toEqual([url('http://malware-host-1.com:8080/'), domain('malware-host-1.com')]);
    expect(ok('ftp://files.malware-host-2.net:21/a.zip')).toEqual([url('ftp://files.malware-host-2.net/a.zip'), domain('files.malware-host-2.net')]);
    expect(ok('http://[2a01:4f8:c17::1]/x')).toEqual([url('http://[2a01:4f8:c17::1]/x'), ip('2a01:4f8:c17::1')]);
    expect(ok('https://bücher-login.de/anmelden')).toEqual([url('https://xn--bcher-login-thb.de/anmelden'), domain('xn--bcher-login-thb.de')]);
    expect(ok('http://trailing-dot.com./x')).toEqual([url('http://trailing-dot.com/x'), domain('trailing-dot.com')]);
  });

  it('undoes defanged URLs', () => {
    expect(ok('hxxp://defanged-phish[.]ru/login')).toEqual([url('http://defanged-phish.ru/login'), domain('defanged-phish.ru')]);
    expect(ok('hXXps[://]verify-account[.]co[.]uk/update')).toEqual([url('https://verify-account.co.uk/update'), domain('verify-account.co.uk')]);
  });

  it('honours allowed types', () => {
    expect(ok('http://malware-host-1.com/a', ['url'])).toEqual([url('http://malware-host-1.com/a')]);
    expect(ok('http://malware-host-1.com/a', ['domain'])).toEqual([domain('malware-host-1.com')]);
    expect(ok('http://45.95.146.22/a', ['url', 'domain'])).toEqual([url('http://45.95.146.22/a')]);
    expect(reason('http://45.95.146.22/a', ['domain'])).toBe('type url not allowed');
    expect(reason('45.95.146.22', ['domain', 'url'])).toBe('type ip not allowed');
    expect(reason('45.95.146.0/24', ['ip'])).toBe('type cidr not allowed');
    expect(reason('malware-host-1.com', ['ip', 'cidr'])).toBe('type domain not allowed');
  });

  it('rejects other schemes and bad hosts', () => {
    expect(reason('gopher://old.malware-host-2.net/')).toBe('unsupported URL scheme');
    expect(reason('http://localhost/admin')).toBe('URL host: localhost is not a domain');
    expect(reason('https://evil.example/path')).toBe('URL host: unknown public suffix');
    expect(reason('http://300.1.1.1/bad')).toBe('invalid URL');
    expect(reason('http://malware-host-1.com/a b')).toBe('URL contains whitespace');
    expect(reason('javascript:alert(1)')).toBe('not an IP, CIDR, range, domain or URL');
  });
});

describe('helpers', () => {
  it('canonicalDomain / canonicalIp / canonicalUrl', () => {
    expect(canonicalDomain(' BÜCHER-login.de. ')).toBe('xn--bcher-login-thb.de');
    expect(canonicalDomain('co.uk')).toBeNull();
    expect(canonicalDomain('45.95.146.22')).toBeNull();
    expect(canonicalIp('::ffff:45.95.146.22')).toBe('45.95.146.22');
    expect(canonicalIp('2A01:4F8::0001')).toBe('2a01:4f8::1');
    expect(canonicalIp('45.95.146.0/24')).toBeNull();
    expect(canonicalIp('malware-host-1.com')).toBeNull();
    expect(canonicalUrl('hxxp://Evil-Site[.]com:80/a#b')).toBe('http://evil-site.com/a');
    expect(canonicalUrl('evil-site.com/a')).toBeNull();
  });
});

describe('newly accepted hosts and the popular-domains allow-list', () => {
  const builtIn = Allowlist.builtIn();
  const spared = (raw: string): string | null => {
    const found = ok(raw).find((i) => i.type === 'domain')!;
    return builtIn.match(found)?.list ?? null;
  };

  it('spares a "_" host under a popular domain, as for any of its subdomains', () => {
    expect(spared('docs_mirror.google.com')).toBe('popular-domains');
  });

  it('does not spare hosts on shared hosting or under private wildcard rules', () => {
    for (const h of ['coinbase_1_login.godaddysites.com', 'ec2-1-2-3-4.compute-1.amazonaws.com', 'foo.eth.limo']) expect(spared(h), h).toBeNull();
  });
});
