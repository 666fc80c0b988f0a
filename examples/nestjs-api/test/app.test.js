// The HTTP contract of the built app, without a database: DATABASE_URL points to a closed port on 127.0.0.1, or is
// missing (node's own test runner, no extra deps).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { freePort, startApp, getJson, postJson, runScript } = require('./helpers');

// Every part of this URL is a secret: none may appear in a response or in the log.
const SECRET_PARTS = ['s3cr3t-value', 'sample-user', 'secret-db-name'];
let app;
let closedPort;

before(async () => {
  closedPort = await freePort();
  app = await startApp({
    APP_VERSION: 'test-1',
    DATABASE_URL: `postgres://sample-user:s3cr3t-value@127.0.0.1:${closedPort}/secret-db-name`,
  });
});

after(async () => {
  await app.stop();
});

test('GET /health answers 200 "degraded" with the version while the database is unreachable', async () => {
  const { status, body } = await getJson(`${app.base}/health`);
  assert.equal(status, 200);
  assert.equal(body.status, 'degraded');
  assert.equal(body.version, 'test-1');
  assert.deepEqual(body.checks, { databaseUrl: 'set', database: 'unreachable' });
  assert.ok(!Number.isNaN(Date.parse(body.startedAt)), body.startedAt);
});

test('GET / names the service and version', async () => {
  const { body } = await getJson(`${app.base}/`);
  assert.deepEqual(body, { service: 'shipyard-sample-api', version: 'test-1' });
});

test('GET and POST /notes answer 503 with the reason while the database is unreachable', async () => {
  const list = await getJson(`${app.base}/notes`);
  assert.equal(list.status, 503);
  assert.match(list.body.message, /the database is unreachable/);
  const create = await postJson(`${app.base}/notes`, { text: 'hello' });
  assert.equal(create.status, 503);
  assert.match(create.body.message, /cannot save the note: the database is unreachable/);
});

test('POST /notes refuses bad input with 400 and the reason, whatever the database', async () => {
  const cases = [
    [{}, /text is required/],
    [{ text: 42 }, /text must be a string/],
    [{ text: '   ' }, /text must not be empty/],
    [{ text: 'x'.repeat(501) }, /at most 500 characters, got 501/],
    ['["not", "an object"]', /text is required/],
    ['{"text": ', /./], // not JSON: the body parser's own 400
  ];
  for (const [body, reason] of cases) {
    const { status, body: answer } = await postJson(`${app.base}/notes`, body);
    assert.equal(status, 400, JSON.stringify(body));
    assert.match(answer.message, reason, JSON.stringify(body));
  }
});

test('GET /notes refuses a bad limit with 400', async () => {
  for (const limit of ['0', '101', 'abc', '1.5', '-1']) {
    const { status, body } = await getJson(`${app.base}/notes?limit=${limit}`);
    assert.equal(status, 400, limit);
    assert.match(body.message, /limit must be an integer from 1 to 100/, limit);
  }
});

test('no part of DATABASE_URL appears in a response or in the log', async () => {
  for (const route of ['/', '/health', '/notes', '/missing']) {
    const text = await (await fetch(`${app.base}${route}`)).text();
    for (const part of SECRET_PARTS) assert.ok(!text.includes(part), `${part} leaked by ${route}`);
  }
  const created = await postJson(`${app.base}/notes`, { text: 'a' });
  for (const part of SECRET_PARTS) assert.ok(!JSON.stringify(created).includes(part), `${part} leaked by POST /notes`);
  for (const part of SECRET_PARTS) assert.ok(!app.output.includes(part), `${part} leaked into the log`);
  assert.match(app.output, /database unreachable \(ECONNREFUSED\)/); // the log says why, by code only
});

test('listens on PORT (the local cloud contract)', async () => {
  assert.ok(app.output.includes(`listening on port ${app.port}`), app.output);
});

test('SIGTERM closes the connection pool and exits 0', async () => {
  const other = await startApp({ DATABASE_URL: `postgres://u:p@127.0.0.1:${closedPort}/db` });
  assert.equal(await other.stop(), 0);
  assert.match(other.output, /connection pool closed/);
});

test('without DATABASE_URL: /health says "not configured", /notes says why it cannot work', async () => {
  const bare = await startApp({ APP_VERSION: 'test-2' });
  try {
    const { status, body } = await getJson(`${bare.base}/health`);
    assert.equal(status, 200);
    assert.equal(body.status, 'degraded');
    assert.deepEqual(body.checks, { databaseUrl: 'missing', database: 'not configured' });
    const list = await getJson(`${bare.base}/notes`);
    assert.equal(list.status, 503);
    assert.match(list.body.message, /the database is not configured \(DATABASE_URL is not set\)/);
  } finally {
    await bare.stop();
  }
});

test('SAMPLE_FAIL_MODE=unhealthy answers /health with 503', async () => {
  const sick = await startApp({ SAMPLE_FAIL_MODE: 'unhealthy', APP_VERSION: 'test-3' });
  try {
    const { status, body } = await getJson(`${sick.base}/health`);
    assert.equal(status, 503);
    assert.equal(body.status, 'unhealthy');
    assert.equal(body.version, 'test-3');
  } finally {
    await sick.stop();
  }
});

test('SAMPLE_FAIL_MODE=crash exits 1 at start-up with the reason in the log', async () => {
  const crashed = await runScript('main.js', { PORT: '1', SAMPLE_FAIL_MODE: 'crash' });
  assert.equal(crashed.code, 1);
  assert.match(crashed.output, /refusing to start/);
});
