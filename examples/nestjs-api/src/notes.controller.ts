import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  InternalServerErrorException,
  Logger,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Database, DatabaseNotConfigured } from './database';
import { classifyDatabaseError, errorLabel } from './database-errors';
import { Note, NoteRow, parseLimit, parseNoteText, toNote } from './notes';

/**
 * A small resource stored in Postgres (table `notes`, created by the migration in migrations/). Bad input is a 400
 * whatever the database's state; a database that cannot be used is a 503 with the reason, never the URL or the
 * driver's message.
 */
@Controller('notes')
export class NotesController {
  private readonly logger = new Logger('Notes');

  constructor(private readonly database: Database) {}

  /** The newest notes first, `limit` of them (default 20, at most 100). */
  @Get()
  async list(@Query('limit') rawLimit?: unknown): Promise<{ notes: Note[] }> {
    const limit = parseLimit(rawLimit);
    if (!limit.ok) throw new BadRequestException(limit.error);
    try {
      const rows = await this.database.query<NoteRow>(
        'SELECT id, text, created_at FROM notes ORDER BY created_at DESC, id DESC LIMIT $1',
        [limit.value],
      );
      return { notes: rows.map(toNote) };
    } catch (error) {
      throw this.unavailable('list the notes', error);
    }
  }

  /** Creates a note from `{"text": "..."}` and answers 201 with it. */
  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown): Promise<Note> {
    const text = parseNoteText(body);
    if (!text.ok) throw new BadRequestException(text.error);
    try {
      const rows = await this.database.query<NoteRow>(
        'INSERT INTO notes (text) VALUES ($1) RETURNING id, text, created_at',
        [text.value],
      );
      return toNote(rows[0]);
    } catch (error) {
      throw this.unavailable('save the note', error);
    }
  }

  private unavailable(action: string, error: unknown): Error {
    if (error instanceof DatabaseNotConfigured) {
      return new ServiceUnavailableException(
        `cannot ${action}: the database is not configured (DATABASE_URL is not set)`,
      );
    }
    const kind = classifyDatabaseError(error);
    this.logger.warn(`cannot ${action}: database ${kind} (${errorLabel(error)})`);
    if (kind === 'not migrated') {
      return new ServiceUnavailableException(
        `cannot ${action}: the notes table does not exist yet (run the migrations: npm run migrate)`,
      );
    }
    if (kind === 'unreachable') {
      return new ServiceUnavailableException(`cannot ${action}: the database is unreachable, try again later`);
    }
    return new InternalServerErrorException(`cannot ${action}: the database refused the request`);
  }
}
