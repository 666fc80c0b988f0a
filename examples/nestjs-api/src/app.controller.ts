import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { publicConfig } from './config';

@Controller()
export class AppController {
  private readonly startedAt = new Date().toISOString();

  /** What the service is and which version answers. */
  @Get()
  root(): { service: string; version: string } {
    return { service: 'shipyard-sample-api', version: publicConfig(process.env).version };
  }

  /**
   * The load balancer's health check: 200 with the version. `checks.databaseUrl` says whether the secret
   * reached the task ("set"/"missing") and never shows its value.
   */
  @Get('health')
  health(): { status: string; version: string; startedAt: string; checks: { databaseUrl: string } } {
    const config = publicConfig(process.env);
    if (process.env.SAMPLE_FAIL_MODE === 'unhealthy') {
      // A broken release on purpose: up, but failing the load balancer's health check.
      throw new ServiceUnavailableException({ status: 'unhealthy', version: config.version });
    }
    return {
      status: 'ok',
      version: config.version,
      startedAt: this.startedAt,
      checks: { databaseUrl: config.databaseUrl },
    };
  }
}
