/**
 * `npm run migrate` (or `node dist/migrate.js`): applies the pending migrations of migrations/ with node-pg-migrate,
 * against DATABASE_URL. Idempotent (applied migrations are recorded in the table `pgmigrations`; a second run has
 * nothing to do), one at a time (an advisory lock: two tasks started together do not both migrate), all pending
 * migrations in one transaction. Exits 0 when the database is up to date, 1 with a one-line reason otherwise. Never
 * prints DATABASE_URL or any part of it: connection errors are told by their code, other messages are redacted.
 *
 * SAMPLE_FAIL_MODE=migrate fails on purpose before touching the database (the demo's failing release).
 */
import path from 'node:path';
import { Client, ClientConfig } from 'pg';
import { runner } from 'node-pg-migrate';
import { classifyDatabaseError, errorLabel, redact } from './database-errors';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
export const MIGRATIONS_TABLE = 'pgmigrations';

/** The migration's connection: patient to connect (a cold database), but never waiting long for a table lock. */
export function migrationClientSettings(url: string): ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    // A migration that waits for a lock held by live traffic blocks every query queued behind it: give up instead.
    lock_timeout: 10_000,
    keepAlive: true,
    application_name: 'shipyard-sample-api migrate',
  };
}

/** The one line that says why the migration failed, safe to print: never the URL, nor a connection error's text. */
export function failureReason(error: unknown, url: string | undefined): string {
  const label = errorLabel(error);
  // 'connection error' is errorLabel's word for an error without a code: node-pg-migrate's own (a migration that
  // throws, "Another migration is already running"), told by its redacted message below.
  if (classifyDatabaseError(error) === 'unreachable' && label !== 'connection error') {
    if (label === '28P01' || label === '28000') {
      return `the database refused the credentials of DATABASE_URL (${label})`;
    }
    if (label === '3D000') return 'the database named in DATABASE_URL does not exist (3D000)';
    return (
      `cannot reach the database of DATABASE_URL (${label}): ` +
      'check the URL and that it accepts connections from here'
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = label === 'connection error' ? '' : ` (${label})`;
  return `${redact(message, url)}${code}`;
}

function say(line: string): void {
  process.stdout.write(`migrate: ${line}\n`);
}

export async function migrate(env: NodeJS.ProcessEnv): Promise<number> {
  const url = env.DATABASE_URL;
  say(`applying pending migrations from ${MIGRATIONS_DIR} (table ${MIGRATIONS_TABLE})`);
  if (env.SAMPLE_FAIL_MODE === 'migrate') {
    say('SAMPLE_FAIL_MODE=migrate: this release carries a migration that fails, on purpose');
    process.stderr.write(
      'migrate: FAILED: migration failed on purpose (SAMPLE_FAIL_MODE=migrate); the database is unchanged\n',
    );
    return 1;
  }
  if (!url) {
    process.stderr.write('migrate: FAILED: DATABASE_URL is not set: no database to migrate\n');
    return 1;
  }
  const safe = (line: unknown): string => redact(String(line), url);
  const logger = {
    info: (line: string) => process.stdout.write(`${safe(line)}\n`),
    warn: (line: string) => process.stderr.write(`${safe(line)}\n`),
    error: (line: string) => process.stderr.write(`${safe(line)}\n`),
  };
  const client = new Client(migrationClientSettings(url));
  // A connection lost mid-migration also fails the running query; this only keeps the process from crashing first.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      checkOrder: true,
      singleTransaction: true,
      logger,
    });
    say(
      applied.length === 0
        ? 'done: the database is up to date (no pending migration)'
        : `done: applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`migrate: FAILED: ${failureReason(error, url)}\n`);
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (require.main === module) {
  migrate(process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`migrate: FAILED: ${failureReason(error, process.env.DATABASE_URL)}\n`);
      process.exitCode = 1;
    },
  );
}
