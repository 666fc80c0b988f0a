import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { listenPort } from './config';

/** Starts the API on PORT; on failure logs why (never the environment: it holds DATABASE_URL) and exits 1. */
export async function start(): Promise<INestApplication> {
  try {
    // A broken release on purpose, for the demo's rollback story: fail the way real services do at start-up.
    if (process.env.SAMPLE_FAIL_MODE === 'crash') {
      throw new Error('SAMPLE_FAIL_MODE=crash: refusing to start (a broken release, on purpose)');
    }
    const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
    const port = listenPort(process.env);
    await app.listen(port, process.env.HOST ?? '0.0.0.0');
    Logger.log(`listening on port ${port}, version ${process.env.APP_VERSION ?? 'dev'}`, 'Bootstrap');
    return app;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    Logger.error(`failed to start: ${message}`, undefined, 'Bootstrap');
    process.exit(1);
  }
}

/** Finishes in-flight requests, then runs the shutdown hooks (Database closes its pool); the exit code to use. */
export async function stop(app: INestApplication, signal: string): Promise<number> {
  Logger.log(`${signal}: finishing in-flight requests, then closing the database pool`, 'Bootstrap');
  try {
    await app.close();
    return 0;
  } catch (error) {
    Logger.error(`shutdown failed: ${error instanceof Error ? error.name : 'error'}`, undefined, 'Bootstrap');
    return 1;
  }
}
