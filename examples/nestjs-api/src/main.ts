import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { listenPort } from './config';

async function bootstrap(): Promise<void> {
  // A broken release on purpose, for the demo's rollback story: fail the way real services do at start-up.
  if (process.env.SAMPLE_FAIL_MODE === 'crash') {
    throw new Error('SAMPLE_FAIL_MODE=crash: refusing to start (a broken release, on purpose)');
  }
  const app = await NestFactory.create(AppModule, { logger: ['log', 'warn', 'error'] });
  // SIGTERM from ECS (or `docker stop`): finish in-flight requests, then exit 0.
  app.enableShutdownHooks();
  const port = listenPort(process.env);
  await app.listen(port, process.env.HOST ?? '0.0.0.0');
  Logger.log(`listening on port ${port}, version ${process.env.APP_VERSION ?? 'dev'}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  // Never print the environment here: it holds DATABASE_URL.
  const message = error instanceof Error ? error.message : String(error);
  Logger.error(`failed to start: ${message}`, undefined, 'Bootstrap');
  process.exit(1);
});
