import { migrate, type Db } from '../db.js';

/** The registry's own tables; step numbers never change once shipped. */
const REGISTRY_MIGRATIONS: readonly string[] = [
  `CREATE TABLE registry_things (
     thing_name TEXT PRIMARY KEY,
     thing_id TEXT NOT NULL UNIQUE,
     attributes TEXT NOT NULL,
     version INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE registry_thing_groups (
     group_name TEXT PRIMARY KEY,
     group_id TEXT NOT NULL UNIQUE,
     description TEXT,
     attributes TEXT NOT NULL,
     parent_group_name TEXT REFERENCES registry_thing_groups(group_name),
     version INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE registry_group_members (
     group_name TEXT NOT NULL REFERENCES registry_thing_groups(group_name) ON DELETE CASCADE,
     thing_name TEXT NOT NULL REFERENCES registry_things(thing_name) ON DELETE CASCADE,
     PRIMARY KEY (group_name, thing_name)
   );
   CREATE INDEX registry_group_members_by_thing ON registry_group_members(thing_name);`,
  // Dynamic thing groups: a group with a query is dynamic; its members are kept in registry_group_members.
  `ALTER TABLE registry_thing_groups ADD COLUMN query_string TEXT;
   ALTER TABLE registry_thing_groups ADD COLUMN index_name TEXT;
   ALTER TABLE registry_thing_groups ADD COLUMN query_version TEXT;`,
];

export function migrateRegistry(db: Db): void {
  migrate(db, 'registry', REGISTRY_MIGRATIONS);
}
