import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl } from '../src/index.js';

describe('redactUrl', () => {
  it('masks the password of the userinfo and keeps the user', () => {
    expect(redactUrl('http://user:s3cret@host.example/x')).toBe('http://user:***@host.example/x');
    expect(redactUrl('https://user:p@ss:w0rd@host.example:8443/')).toBe('https://user:***@host.example:8443/');
    expect(redactUrl('https://onlyuser@host.example/')).toBe('https://onlyuser@host.example/');
    expect(redactUrl('https://user:@host.example/')).toBe('https://user:@host.example/');
  });

  it('masks secret-looking query parameters and keeps the others', () => {
    const secrets = ['apikey', 'api_key', 'apiKey', 'X-Api-Key', 'key', 'token', 'access_token', 'auth', 'password', 'secret', 'sig', 'signature', 'client_secret', 'X-Amz-Signature', 'authToken', 'passwd'];
    for (const name of secrets) {
      expect(redactUrl(`https://h.example/feed?page=2&${name}=SECRET&sort=asc`), name).toBe(`https://h.example/feed?page=2&${name}=***&sort=asc`);
    }
    for (const name of ['page', 'monkey', 'keyword', 'author', 'format', 'q']) {
      expect(redactUrl(`https://h.example/feed?${name}=value`), name).toBe(`https://h.example/feed?${name}=value`);
    }
  });

  it('masks secrets in the fragment (OAuth implicit flow) and percent-encoded names', () => {
    expect(redactUrl('https://h.example/cb#access_token=abc&state=1')).toBe('https://h.example/cb#access_token=***&state=1');
    expect(redactUrl('https://h.example/x?api%5Fkey=abc')).toBe('https://h.example/x?api%5Fkey=***');
    expect(redactUrl('https://h.example/x#section-2')).toBe('https://h.example/x#section-2');
  });

  it('returns URLs without secrets unchanged, byte for byte', () => {
    for (const url of ['http://127.0.0.1:8080/x?a=1&b=2', 'HTTPS://Example.ORG/%7Efoo/../bar?x', 'https://h/x?key', 'https://h/x?token=', '/relative?page=1', '']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('never throws on invalid URLs and still redacts what it can read', () => {
    expect(redactUrl('not a url')).toBe('not a url');
    expect(redactUrl('http://u:pw@[::1')).toBe('http://u:***@[::1');
    expect(redactUrl('/x?apikey=SECRET&page=2')).toBe('/x?apikey=***&page=2');
    expect(redactUrl('ht!tp://u:pw@h/x?token=t')).toBe('ht!tp://u:pw@h/x?token=***');
    expect(() => redactUrl('%E0%A4%A?%E0%A4%A=1')).not.toThrow();
    expect(redactUrl(undefined as unknown as string)).toBe('undefined');
  });
});

describe('redactSecrets', () => {
  it('redacts every URL inside free text', () => {
    const text = 'GET http://user:s3cretpw@127.0.0.1:8080/x?apikey=SECRETKEY&page=2 failed, then https://a:b@c.example/ too';
    expect(redactSecrets(text)).toBe('GET http://user:***@127.0.0.1:8080/x?apikey=***&page=2 failed, then https://a:***@c.example/ too');
    expect(redactSecrets('job failed: TIP_HTTP_STATUS: HTTP 404 from "https://h/x?token=T"')).toBe('job failed: TIP_HTTP_STATUS: HTTP 404 from "https://h/x?token=***"');
    expect(redactSecrets('db postgres://tip:pgpass@db.local:5432/tip is down')).toBe('db postgres://tip:***@db.local:5432/tip is down');
  });

  it('redacts Authorization-style headers and bearer tokens, keeping the scheme word', () => {
    expect(redactSecrets('Authorization: Bearer eyJhbGciOi.abc.def')).toBe('Authorization: Bearer ***');
    expect(redactSecrets('authorization: Basic dXNlcjpwYXNz')).toBe('authorization: Basic ***');
    expect(redactSecrets('headers {"Authorization":"token ghp_abcdef123"}')).toBe('headers {"Authorization":"token ***"}');
    expect(redactSecrets('Proxy-Authorization: abcdef')).toBe('Proxy-Authorization: ***');
    expect(redactSecrets('X-Api-Key: 12345')).toBe('X-Api-Key: ***');
    expect(redactSecrets('sent bearer abcdefghij to the server')).toBe('sent bearer *** to the server');
  });

  it('redacts secret-looking name=value pairs outside URLs', () => {
    expect(redactSecrets('host=db password=hunter2 user=tip')).toBe('host=db password=*** user=tip');
    expect(redactSecrets('retry with token=abc, page=3')).toBe('retry with token=***, page=3');
  });

  it('leaves ordinary text alone and never throws', () => {
    for (const text of ['job "blacklist" succeeded in 3s', 'basic auth is not configured', 'unknown key "intervall"', 'a = b', '']) {
      expect(redactSecrets(text)).toBe(text);
    }
    expect(() => redactSecrets('http://[::1:broken?token=x')).not.toThrow();
    expect(redactSecrets('http://[::1:broken?token=x')).not.toContain('token=x');
  });

  it('is idempotent', () => {
    const once = redactSecrets('http://u:p@h/x?apikey=K&page=2 Authorization: Bearer abcdefgh password=x');
    expect(redactSecrets(once)).toBe(once);
  });
});
