/**
 * What a database error means, told without the driver's text: a connection error's message can hold the host, the
 * port or the user of DATABASE_URL (`getaddrinfo ENOTFOUND db.xyz.supabase.co`, `password authentication failed
 * for user "..."`), so only codes leave this file, and any other text goes through `redact` first.
 */

/**
 * `unreachable`: connecting, authenticating or waiting failed; `not migrated`: the table is missing; `failed`: the
 * rest (a bug or a constraint: the database answered).
 */
export type DatabaseErrorKind = 'unreachable' | 'not migrated' | 'failed';

// SQLSTATE classes that mean "no usable connection": 08 connection exception, 28 invalid authorization,
// 3D invalid catalog (no such database), 53 insufficient resources (too many connections), 57 operator intervention
// (shutdown, cannot connect now, statement timeout 57014).
const UNREACHABLE_CLASSES = new Set(['08', '28', '3D', '53', '57']);
const SQLSTATE = /^[0-9A-Z]{5}$/;
const NODE_CODE = /^E[A-Z0-9_]+$/;

function codeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  const code = codeOf(error);
  if (code === '42P01') return 'not migrated'; // undefined_table
  if (code !== undefined && SQLSTATE.test(code)) {
    return UNREACHABLE_CLASSES.has(code.slice(0, 2)) ? 'unreachable' : 'failed';
  }
  // No SQLSTATE: a socket error (ECONNREFUSED, ENOTFOUND, ETIMEDOUT...), a pool or query timeout, a connection that
  // ended, a URL that does not parse: the database cannot be used from here.
  return 'unreachable';
}

/** A short, safe label for the log: the error's code (SQLSTATE or Node's), or a generic word. Never its message. */
export function errorLabel(error: unknown): string {
  const code = codeOf(error);
  if (code !== undefined && (SQLSTATE.test(code) || NODE_CODE.test(code))) return code;
  const message = error instanceof Error ? error.message.toLowerCase() : '';
  if (message.includes('timeout') || message.includes('timed out')) return 'timeout';
  if (message.includes('terminated')) return 'connection ended';
  return 'connection error';
}

/**
 * `text` with every part of `url` that could identify the database replaced by `***`: the whole URL, then its
 * password, user name, host name and database name (longest first). A URL that does not parse is removed whole.
 */
export function redact(text: string, url: string | undefined): string {
  if (!url) return text;
  const parts = [url];
  try {
    const parsed = new URL(url);
    for (const part of [parsed.password, parsed.username, parsed.hostname, parsed.pathname.replace(/^\//, '')]) {
      if (part) parts.push(part, safeDecode(part));
    }
  } catch {
    // not a URL: only the whole string is known to be secret
  }
  let result = text;
  for (const part of [...new Set(parts)].filter((p) => p.length >= 3).sort((a, b) => b.length - a.length)) {
    result = result.split(part).join('***');
  }
  return result;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
