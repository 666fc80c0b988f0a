/**
 * The table of GET/POST /notes. A migration is history: once released it never changes; the next change is a new
 * file (`npx node-pg-migrate create <name> --migration-file-language js` makes one with the right timestamp).
 * The CHECK mirrors the app's limit (NOTE_TEXT_MAX in src/notes.ts) as the database's own guard.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('notes', {
    id: 'id',
    text: { type: 'text', notNull: true, check: 'char_length(text) BETWEEN 1 AND 500' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('notes', ['created_at', 'id']);
};

/** @param {import('node-pg-migrate').MigrationBuilder} pgm */
exports.down = (pgm) => {
  pgm.dropTable('notes');
};
