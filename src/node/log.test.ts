import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, REDACTED } from './log.ts';

const KEY = '0xAbCdEf0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';
const PASSWORD = 'hunter2-correct-horse';

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ service: 'test', level, sink: (l) => lines.push(l), now: () => new Date(0) });
  return { log, lines };
}

describe('structured logs', () => {
  it('writes one JSON object per line with ts, level, service, msg and fields', () => {
    const { log, lines } = capture();
    log.info('hello', { block: 12n, nested: { ok: true } });
    log.child('sync').warn('lagging');
    assert.deepEqual(JSON.parse(lines[0]), {
      ts: '1970-01-01T00:00:00.000Z',
      level: 'info',
      service: 'test',
      msg: 'hello',
      fields: { block: '12', nested: { ok: true } },
    });
    assert.equal(JSON.parse(lines[1]).service, 'test.sync');
  });

  it('drops lines below the level', () => {
    const { log, lines } = capture('info');
    log.debug('noise');
    log.error('bad');
    assert.equal(lines.length, 1);
  });

  it('never logs a private key or a password, by field name or by value', () => {
    const { log, lines } = capture();
    log.addSecret(KEY);
    log.addSecret(PASSWORD);
    log.info('key fields', { privateKey: 'anything', password: 'x', key: 'y', keystorePassword: 'z' });
    log.info(`the key ${KEY} in a message`);
    log.info('nested', { deep: { list: [`pk=${KEY.slice(2).toLowerCase()}`] }, note: `pw ${PASSWORD}` });
    log.error('an error', {
      error: new Error(`failed to sign with ${KEY.toUpperCase().replace('0X', '0x')}`),
    });
    log.child('sub').warn('child', { cause: `uses ${PASSWORD}` });
    const all = lines.join('\n');
    assert.ok(!all.toLowerCase().includes(KEY.slice(2).toLowerCase()), all);
    assert.ok(!all.includes(PASSWORD), all);
    assert.ok(!all.includes('anything'));
    const first = JSON.parse(lines[0]).fields;
    for (const f of ['privateKey', 'password', 'key', 'keystorePassword']) assert.equal(first[f], REDACTED);
    assert.match(all, /\[redacted\]/);
  });
});
