import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, QueryConfig, QueryResultRow } from 'pg';
import { HEALTH_DB_TIMEOUT_MS, poolSettings } from './config';
import { errorLabel } from './database-errors';

/** What `/health` reports about the database. */
export type DatabaseState = 'ok' | 'unreachable' | 'not configured';

/** Thrown when DATABASE_URL is not set: the routes that need the database answer 503 with that reason. */
export class DatabaseNotConfigured extends Error {
  constructor() {
    super('DATABASE_URL is not set');
  }
}

/** Rejects after `ms`: bounds a promise whose own timeouts may add up (waiting for a pool slot, connecting, query). */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The one connection pool of the process (settings: `poolSettings`). Nothing connects at start-up: a database
 * outage must not stop the API from starting or from answering `/health`. The pool closes on shutdown (SIGTERM),
 * after the HTTP server has finished its in-flight requests.
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly pool: Pool | null;
  private lastState: DatabaseState | undefined;

  constructor() {
    const settings = poolSettings(process.env);
    this.pool = settings ? new Pool(settings) : null;
    // An idle connection that breaks (database restart, failover) is reported here; without a listener the
    // process would crash. The pool drops that connection and opens a new one when needed.
    this.pool?.on('error', (error) => this.logger.warn(`idle connection lost (${errorLabel(error)})`));
  }

  /** `SELECT 1` within HEALTH_DB_TIMEOUT_MS, connecting included. Logs only when the state changes. */
  async check(): Promise<DatabaseState> {
    if (!this.pool) return this.record('not configured');
    const probe: QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: HEALTH_DB_TIMEOUT_MS };
    try {
      await withDeadline(this.pool.query(probe), HEALTH_DB_TIMEOUT_MS);
      return this.record('ok');
    } catch (error) {
      return this.record('unreachable', error);
    }
  }

  async query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    if (!this.pool) throw new DatabaseNotConfigured();
    const result = await this.pool.query<R>(text, values);
    return result.rows;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pool && !this.pool.ended) {
      await this.pool.end();
      this.logger.log('connection pool closed');
    }
  }

  private record(state: DatabaseState, error?: unknown): DatabaseState {
    if (state !== this.lastState) {
      const reason = error === undefined ? '' : ` (${errorLabel(error)})`;
      const line = `database ${state}${reason}`;
      if (state === 'ok') this.logger.log(line);
      else this.logger.warn(line);
      this.lastState = state;
    }
    return state;
  }
}
