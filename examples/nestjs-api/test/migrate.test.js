// `npm run migrate` (dist/migrate.js) without a database: the failure switch and the failures it must explain
// without printing DATABASE_URL.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { freePort, runScript } = require('./helpers');

test('SAMPLE_FAIL_MODE=migrate prints what it does, then fails on purpose with exit 1', async () => {
  const env = { SAMPLE_FAIL_MODE: 'migrate', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' };
  const run = await runScript('migrate.js', env);
  assert.equal(run.code, 1);
  const lines = [...run.stdout.split('\n'), ...run.stderr.split('\n')];
  assert.match(lines[0], /^migrate: applying pending migrations from .*migrations \(table pgmigrations\)$/);
  const why = 'migrate: SAMPLE_FAIL_MODE=migrate: this release carries a migration that fails, on purpose';
  assert.ok(lines.includes(why), run.output);
  const failed = 'migrate: FAILED: migration failed on purpose (SAMPLE_FAIL_MODE=migrate); the database is unchanged';
  assert.ok(lines.includes(failed), run.output);
});

test('without DATABASE_URL it exits 1 and says so', async () => {
  const run = await runScript('migrate.js', {});
  assert.equal(run.code, 1);
  assert.match(run.stderr, /migrate: FAILED: DATABASE_URL is not set/);
});

test('an unreachable database exits 1 with the reason and no part of the URL', async () => {
  const port = await freePort();
  const url = `postgres://migrate-user:s3cr3t-value@127.0.0.1:${port}/secret-db-name`;
  const run = await runScript('migrate.js', { DATABASE_URL: url });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /migrate: FAILED: cannot reach the database of DATABASE_URL \(ECONNREFUSED\)/);
  for (const part of ['migrate-user', 's3cr3t-value', 'secret-db-name', String(port)]) {
    assert.ok(!run.output.includes(part), `${part} leaked:\n${run.output}`);
  }
});
