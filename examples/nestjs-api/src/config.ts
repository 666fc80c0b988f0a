/** Settings read from the environment. The database URL is a secret: only whether it is set leaves here. */

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
