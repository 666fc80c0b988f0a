// The pure functions of dist/: input rules, error classification, redaction, pool settings. No server, no database.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { DIST } = require('./helpers');

const notes = require(path.join(DIST, 'notes.js'));
const errors = require(path.join(DIST, 'database-errors.js'));
const config = require(path.join(DIST, 'config.js'));
const migrate = require(path.join(DIST, 'migrate.js'));

test('parseNoteText: a non-empty string of at most 500 characters, trimmed', () => {
  assert.deepEqual(notes.parseNoteText({ text: '  hello  ' }), { ok: true, value: 'hello' });
  assert.deepEqual(notes.parseNoteText({ text: 'é'.repeat(500) }), { ok: true, value: 'é'.repeat(500) });
  // 500 emoji are 1000 UTF-16 units but 500 characters, as Postgres counts them
  assert.equal(notes.parseNoteText({ text: '🚢'.repeat(500) }).ok, true);
  assert.equal(notes.parseNoteText({ text: '🚢'.repeat(501) }).ok, false);
  const bad = [undefined, null, 'text', {}, { text: null }, { text: 1 }, { text: ['a'] }, { text: '' }, { text: '\n\t ' }];
  for (const body of bad) {
    assert.equal(notes.parseNoteText(body).ok, false, JSON.stringify(body));
  }
});

test('parseLimit: absent means 20, else an integer from 1 to 100', () => {
  assert.deepEqual(notes.parseLimit(undefined), { ok: true, value: 20 });
  assert.deepEqual(notes.parseLimit('1'), { ok: true, value: 1 });
  assert.deepEqual(notes.parseLimit('100'), { ok: true, value: 100 });
  for (const raw of ['0', '101', '-1', '1.5', '1e2', 'abc', ['1', '2'], ' 5']) {
    assert.equal(notes.parseLimit(raw).ok, false, JSON.stringify(raw));
  }
});

test('classifyDatabaseError: connection trouble is unreachable, a missing table not migrated, the rest failed', () => {
  const cases = [
    [{ code: 'ECONNREFUSED' }, 'unreachable'],
    [{ code: 'ENOTFOUND' }, 'unreachable'],
    [new Error('timeout exceeded when trying to connect'), 'unreachable'],
    [new Error('Connection terminated unexpectedly'), 'unreachable'],
    [{ code: '28P01' }, 'unreachable'],
    [{ code: '3D000' }, 'unreachable'],
    [{ code: '53300' }, 'unreachable'],
    [{ code: '57P01' }, 'unreachable'],
    [{ code: '57014' }, 'unreachable'],
    [{ code: '08006' }, 'unreachable'],
    [{ code: '42P01' }, 'not migrated'],
    [{ code: '23514' }, 'failed'],
    [{ code: '42601' }, 'failed'],
  ];
  for (const [error, kind] of cases) assert.equal(errors.classifyDatabaseError(error), kind, JSON.stringify(error));
});

test('errorLabel: a code or a generic word, never the message', () => {
  const leaky = Object.assign(new Error('password authentication failed for user "alice"'), { code: '28P01' });
  assert.equal(errors.errorLabel(leaky), '28P01');
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND db.secret.host'), { code: 'ENOTFOUND' });
  assert.equal(errors.errorLabel(notFound), 'ENOTFOUND');
  assert.equal(errors.errorLabel(new Error('timeout after 1500 ms')), 'timeout');
  assert.equal(errors.errorLabel(new Error('connect to db.secret.host failed')), 'connection error');
});

test('redact removes the URL and each identifying part of it', () => {
  const url = 'postgres://alice:p%40ss-word@db.secret.host:5432/appdb?sslmode=require';
  const text = `no ${url} for alice at db.secret.host, password p@ss-word / p%40ss-word, database appdb`;
  const redacted = errors.redact(text, url);
  for (const part of ['alice', 'db.secret.host', 'p@ss-word', 'p%40ss-word', 'appdb']) {
    assert.ok(!redacted.includes(part), `${part} in ${redacted}`);
  }
  assert.equal(errors.redact('hello', undefined), 'hello');
  assert.equal(errors.redact('value is not-a-url!', 'not-a-url!'), 'value is ***');
});

test('failureReason: connection errors by code, SQL errors by their (redacted) message', () => {
  const url = 'postgres://alice:pw-secret@db.secret.host/appdb';
  const refused = Object.assign(new Error('connect ECONNREFUSED db.secret.host:5432'), { code: 'ECONNREFUSED' });
  assert.match(migrate.failureReason(refused, url), /^cannot reach the database of DATABASE_URL \(ECONNREFUSED\)/);
  const auth = Object.assign(new Error('password authentication failed for user "alice"'), { code: '28P01' });
  assert.equal(migrate.failureReason(auth, url), 'the database refused the credentials of DATABASE_URL (28P01)');
  const sql = Object.assign(new Error('relation "notes" already exists in appdb'), { code: '42P07' });
  assert.equal(migrate.failureReason(sql, url), 'relation "notes" already exists in *** (42P07)');
  const busy = new Error('Another migration is already running');
  assert.equal(migrate.failureReason(busy, url), 'Another migration is already running');
  const timeout = new Error('timeout exceeded when trying to connect');
  assert.match(migrate.failureReason(timeout, url), /^cannot reach the database of DATABASE_URL \(timeout\)/);
});

test('poolSettings: none without DATABASE_URL; a small pool with every wait bounded', () => {
  assert.equal(config.poolSettings({}), null);
  const settings = config.poolSettings({ DATABASE_URL: 'postgres://u:p@h/d' });
  assert.equal(settings.max, 5);
  for (const key of ['connectionTimeoutMillis', 'idleTimeoutMillis', 'query_timeout', 'statement_timeout']) {
    assert.ok(settings[key] > 0 && settings[key] <= 30_000, `${key}=${settings[key]}`);
  }
  assert.equal(config.poolSettings({ DATABASE_URL: 'x', DATABASE_POOL_MAX: '2' }).max, 2);
  assert.throws(
    () => config.poolSettings({ DATABASE_URL: 'x', DATABASE_POOL_MAX: '0' }),
    /DATABASE_POOL_MAX must be an integer from 1 to 20/,
  );
});
