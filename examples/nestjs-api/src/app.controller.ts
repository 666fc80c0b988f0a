import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { publicConfig } from './config';
import { Database, DatabaseState } from './database';

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  startedAt: string;
  checks: { databaseUrl: 'set' | 'missing'; database: DatabaseState };
}

@Controller()
export class AppController {
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly database: Database) {}

  /** What the service is and which version answers. */
  @Get()
  root(): { service: string; version: string } {
    return { service: 'shipyard-sample-api', version: publicConfig(process.env).version };
  }

  /**
   * The load balancer's health check. `checks.databaseUrl` says whether the secret reached the task ("set"/"missing")
   * and never shows its value; `checks.database` is the result of `SELECT 1` (at most 1.5 s, connecting included):
   * "ok", "unreachable" or "not configured".
   *
   * A database that cannot be reached still answers 200, with `status: "degraded"`: this check decides whether the
   * load balancer keeps the task, and a database outage hits every task at once. Failing it would make the load
   * balancer drain every task and ECS replace them in a loop, turning a database outage into a full outage (no
   * `/`, no `/health`, 503s from the load balancer) that outlasts the database's own recovery. The task itself is
   * fine: only the routes that need the database answer 503 while it is away.
   */
  @Get('health')
  async health(): Promise<Health> {
    const config = publicConfig(process.env);
    if (process.env.SAMPLE_FAIL_MODE === 'unhealthy') {
      // A broken release on purpose: up, but failing the load balancer's health check.
      throw new ServiceUnavailableException({ status: 'unhealthy', version: config.version });
    }
    const database = await this.database.check();
    return {
      status: database === 'ok' ? 'ok' : 'degraded',
      version: config.version,
      startedAt: this.startedAt,
      checks: { databaseUrl: config.databaseUrl, database },
    };
  }
}
