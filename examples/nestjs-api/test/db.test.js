// Against a real Postgres, when TEST_DATABASE_URL is set (skipped otherwise): a throwaway database is created there
// (the URL's user needs CREATEDB), migrated with dist/migrate.js, used by the app, and dropped at the end.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { startApp, runScript, getJson, postJson } = require('./helpers');

const ADMIN_URL = process.env.TEST_DATABASE_URL;

async function admin(sql) {
  const client = new Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('with a database (TEST_DATABASE_URL)', { skip: !ADMIN_URL && 'TEST_DATABASE_URL is not set' }, () => {
  const name = `shipyard_test_${process.pid}_${Date.now()}`;
  let url;
  let app;

  async function count(sql) {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return Number((await client.query(sql)).rows[0].count);
    } finally {
      await client.end();
    }
  }

  before(async () => {
    await admin(`CREATE DATABASE ${name}`);
    const parsed = new URL(ADMIN_URL);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    app = await startApp({ DATABASE_URL: url, APP_VERSION: 'db-1' });
  });

  after(async () => {
    if (app) await app.stop();
    if (url) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  test('/health says ok; /notes before the migration says to run it (503)', async () => {
    const { status, body } = await getJson(`${app.base}/health`);
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.checks, { databaseUrl: 'set', database: 'ok' });
    const list = await getJson(`${app.base}/notes`);
    assert.equal(list.status, 503);
    assert.match(list.body.message, /the notes table does not exist yet \(run the migrations: npm run migrate\)/);
  });

  test('migrate applies the pending migrations; a second run is a no-op', async () => {
    const first = await runScript('migrate.js', { DATABASE_URL: url });
    assert.equal(first.code, 0, first.output);
    assert.match(first.stdout, /migrate: done: applied 1 migration\(s\): \d+_create-notes/);
    assert.equal(await count('SELECT count(*) FROM pgmigrations'), 1);
    const second = await runScript('migrate.js', { DATABASE_URL: url });
    assert.equal(second.code, 0, second.output);
    assert.match(second.stdout, /migrate: done: the database is up to date \(no pending migration\)/);
    assert.equal(await count('SELECT count(*) FROM pgmigrations'), 1);
    assert.ok(!first.output.includes(new URL(url).password), 'the password leaked');
  });

  test('POST /notes creates, GET /notes lists newest first, limited', async () => {
    const created = [];
    for (const text of ['first', '  second  ', 'third 🚢']) {
      const { status, body } = await postJson(`${app.base}/notes`, { text });
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(typeof body.id, 'number');
      assert.ok(!Number.isNaN(Date.parse(body.createdAt)), body.createdAt);
      created.push(body);
    }
    assert.equal(created[1].text, 'second'); // stored trimmed
    const { status, body } = await getJson(`${app.base}/notes`);
    assert.equal(status, 200);
    assert.deepEqual(body.notes, [...created].reverse());
    const limited = await getJson(`${app.base}/notes?limit=2`);
    assert.deepEqual(limited.body.notes.map((n) => n.text), ['third 🚢', 'second']);
    const refused = await postJson(`${app.base}/notes`, { text: '' });
    assert.equal(refused.status, 400);
    assert.equal(await count('SELECT count(*) FROM notes'), 3);
  });

  test('SAMPLE_FAIL_MODE=migrate fails without touching the database', async () => {
    const run = await runScript('migrate.js', { DATABASE_URL: url, SAMPLE_FAIL_MODE: 'migrate' });
    assert.equal(run.code, 1);
    assert.equal(await count('SELECT count(*) FROM pgmigrations'), 1);
  });
});
