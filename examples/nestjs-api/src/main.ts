/**
 * The process's entry point. The signal handlers come first, before Nest loads (src/server.ts, imported below):
 * as PID 1 of its container, node ignores a signal that has no handler, so a task stopped while it starts would
 * wait for SIGKILL (ECS's stopTimeout). SIGTERM from ECS (or `docker stop`) then finishes in-flight requests, closes
 * the database pool and exits 0; Nest's enableShutdownHooks() would end by re-raising the signal instead.
 */
import type { INestApplication } from '@nestjs/common';

type Server = typeof import('./server');

let server: Server | undefined;
let app: INestApplication | undefined;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (server === undefined || app === undefined) {
      process.stdout.write(`${signal} during start-up: exiting\n`);
      process.exit(0);
    }
    void server.stop(app, signal).then((code) => process.exit(code));
  });
}

import('./server')
  .then(async (loaded) => {
    server = loaded;
    app = await loaded.start();
  })
  .catch((error: unknown) => {
    // Loading failed (start() reports its own failures). Never print the environment: it holds DATABASE_URL.
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
