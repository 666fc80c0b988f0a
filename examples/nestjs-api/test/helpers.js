// Shared by the tests: start the built app (or the migrate script) as a child process and talk to it.
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist');

/** A port nothing listens on: bound by us, then released. */
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

/** The environment of a child: ours without DATABASE_URL/SAMPLE_FAIL_MODE, plus `env` (undefined values removed). */
function childEnv(env) {
  const merged = { ...process.env, DATABASE_URL: undefined, SAMPLE_FAIL_MODE: undefined, ...env };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

/** Starts dist/main.js on a free port and waits until it answers. */
async function startApp(env = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [path.join(DIST, 'main.js')], {
    env: childEnv({ PORT: String(port), HOST: '127.0.0.1', ...env }),
  });
  const app = { base, port, child, output: '' };
  child.stdout.on('data', (d) => { app.output += d; });
  child.stderr.on('data', (d) => { app.output += d; });
  app.stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      return exited;
    }
    return child.exitCode;
  };
  for (let i = 0; i < 100; i += 1) {
    try {
      await fetch(`${base}/`);
      return app;
    } catch {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await app.stop();
  throw new Error(`app did not answer on ${base}:\n${app.output}`);
}

/** Runs a script of dist/ to its end: { code, stdout, stderr, output }. */
function runScript(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST, script)], { env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}

async function getJson(url, init) {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

function postJson(url, body) {
  return getJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

module.exports = { DIST, freePort, startApp, runScript, getJson, postJson };
