// Starts the built app on a free port and checks its HTTP contract (node's own test runner, no extra deps).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const SECRET = 'postgres://user:s3cr3t-value@db.example.invalid:5432/app';
let child;
let base;
let output = '';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitUp(url) {
  for (let i = 0; i < 100; i += 1) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`app did not answer on ${url}:\n${output}`);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, [path.join(__dirname, '..', 'dist', 'main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', APP_VERSION: 'test-1', DATABASE_URL: SECRET },
  });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  await waitUp(`${base}/health`);
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

test('GET /health answers 200 with the version and whether DATABASE_URL is set', async () => {
  const response = await fetch(`${base}/health`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.version, 'test-1');
  assert.equal(body.checks.databaseUrl, 'set');
});

test('GET / names the service and version', async () => {
  const body = await (await fetch(`${base}/`)).json();
  assert.deepEqual(body, { service: 'shipyard-sample-api', version: 'test-1' });
});

test('the secret never appears in a response or in the log', async () => {
  for (const route of ['/', '/health', '/missing']) {
    const text = await (await fetch(`${base}${route}`)).text();
    assert.ok(!text.includes('s3cr3t-value'), `value leaked by ${route}`);
  }
  assert.ok(!output.includes('s3cr3t-value'), 'value leaked into the log');
});

test('listens on PORT (the local cloud contract)', async () => {
  assert.ok(output.includes(`listening on port ${new URL(base).port}`), output);
});

test('SAMPLE_FAIL_MODE=crash exits 1 at start-up with the reason in the log', async () => {
  const crashed = spawn(process.execPath, [path.join(__dirname, '..', 'dist', 'main.js')], {
    env: { ...process.env, PORT: '1', SAMPLE_FAIL_MODE: 'crash' },
  });
  let log = '';
  crashed.stdout.on('data', (d) => { log += d; });
  crashed.stderr.on('data', (d) => { log += d; });
  const code = await new Promise((r) => crashed.on('exit', r));
  assert.equal(code, 1);
  assert.ok(log.includes('refusing to start'), log);
});
