/** The rules of `/notes`, as pure functions: what a request may ask, and what a row becomes in a response. */

/** The longest note, in characters. The migration's CHECK constraint allows up to 500: never raise this above it. */
export const NOTE_TEXT_MAX = 500;
/** `GET /notes` returns at most this many notes (newest first) unless `?limit=` asks for fewer. */
export const NOTES_LIMIT_DEFAULT = 20;
export const NOTES_LIMIT_MAX = 100;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The `text` of a `POST /notes` body: a string, not blank, at most NOTE_TEXT_MAX characters; stored trimmed. */
export function parseNoteText(body: unknown): Parsed<string> {
  const text = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).text : undefined;
  if (text === undefined) return { ok: false, error: 'text is required: send {"text": "..."} as JSON' };
  if (typeof text !== 'string') return { ok: false, error: 'text must be a string' };
  const trimmed = text.trim();
  if (trimmed.length === 0) return { ok: false, error: 'text must not be empty' };
  const length = [...trimmed].length; // characters, not UTF-16 units, as Postgres counts them
  if (length > NOTE_TEXT_MAX) {
    return { ok: false, error: `text must be at most ${NOTE_TEXT_MAX} characters, got ${length}` };
  }
  return { ok: true, value: trimmed };
}

/** The `?limit=` of `GET /notes`: absent means NOTES_LIMIT_DEFAULT, else an integer from 1 to NOTES_LIMIT_MAX. */
export function parseLimit(raw: unknown): Parsed<number> {
  if (raw === undefined || raw === '') return { ok: true, value: NOTES_LIMIT_DEFAULT };
  const limit = typeof raw === 'string' && /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > NOTES_LIMIT_MAX) {
    return { ok: false, error: `limit must be an integer from 1 to ${NOTES_LIMIT_MAX}` };
  }
  return { ok: true, value: limit };
}

export interface NoteRow {
  id: number;
  text: string;
  created_at: Date;
}

export interface Note {
  id: number;
  text: string;
  createdAt: string;
}

export function toNote(row: NoteRow): Note {
  return { id: row.id, text: row.text, createdAt: row.created_at.toISOString() };
}
