import type { Kysely } from 'kysely';
import type { Schema } from '../schema.ts';

// Small named values the installation keeps (table `settings`): the master key check value, the
// longest token lifetime used so far.

/** A setting's value, or undefined. */
export async function readSetting(db: Kysely<Schema>, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
  return row?.value;
}

/** Sets a setting, replacing its value. */
export async function writeSetting(db: Kysely<Schema>, name: string, value: string): Promise<void> {
  await db
    .insertInto('settings')
    .values({ name, value })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ value }))
    .execute();
}

/** Sets a setting unless it has a value already, and returns the value it has now (the first writer's). */
export async function settleSetting(db: Kysely<Schema>, name: string, value: string): Promise<string> {
  await db.insertInto('settings').values({ name, value }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
