/** Settings read from the environment. The database URL is a secret: only whether it is set leaves here. */
import type { PoolConfig } from 'pg';

export function listenPort(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT ?? '3000';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT must be a TCP port number (1-65535), got ${JSON.stringify(raw)}`);
  }
  return port;
}

export interface PublicConfig {
  version: string;
  databaseUrl: 'set' | 'missing';
}

export function publicConfig(env: NodeJS.ProcessEnv): PublicConfig {
  return {
    version: env.APP_VERSION || 'dev',
    databaseUrl: env.DATABASE_URL ? 'set' : 'missing',
  };
}

/** How long `/health` waits for `SELECT 1`, connecting included: well under the load balancer's check timeout. */
export const HEALTH_DB_TIMEOUT_MS = 1500;

/**
 * The connection pool, sized for Fargate in front of Supabase: a task is one small process, and every task of every
 * service shares the project's connection limit, so a few connections each (DATABASE_POOL_MAX, default 5). Every
 * wait is bounded: connecting (2 s), a query on the client (5 s) and on the server (statement_timeout 5 s), a
 * transaction left idle (10 s). Idle connections close after 30 s and every connection is renewed after 30 min, so
 * a pooler or a failover never leaves the task holding dead sockets. `null` when DATABASE_URL is not set.
 */
export function poolSettings(env: NodeJS.ProcessEnv): PoolConfig | null {
  if (!env.DATABASE_URL) return null;
  const raw = env.DATABASE_POOL_MAX ?? '5';
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1 || max > 20) {
    throw new Error(`DATABASE_POOL_MAX must be an integer from 1 to 20, got ${JSON.stringify(raw)}`);
  }
  return {
    connectionString: env.DATABASE_URL,
    max,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    maxLifetimeSeconds: 1800,
    query_timeout: 5000,
    statement_timeout: 5000,
    idle_in_transaction_session_timeout: 10_000,
    keepAlive: true,
    application_name: 'shipyard-sample-api',
  };
}
