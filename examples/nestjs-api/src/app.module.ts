import { Module } from '@nestjs/common';
import { AppController } from './app.controller';
import { Database } from './database';
import { NotesController } from './notes.controller';

@Module({ controllers: [AppController, NotesController], providers: [Database] })
export class AppModule {}
