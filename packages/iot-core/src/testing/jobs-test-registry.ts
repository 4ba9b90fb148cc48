import { migrate, type Db } from '../db.js';
import {
  thingArn,
  thingGroupArn,
  type ArnContext,
  type MembershipChange,
  type ThingGroupRecord,
  type ThingRecord,
  type ThingRegistryView,
} from '../registry-types.js';

/**
 * A small SQLite-backed thing registry for the Jobs tests: a real implementation of ThingRegistryView
 * over tables of its own, with the writes the tests need. Listeners run after the write committed.
 */
export class JobsTestRegistry implements ThingRegistryView {
  private readonly listeners = new Set<(change: MembershipChange) => void>();

  constructor(
    private readonly db: Db,
    private readonly arn: ArnContext,
  ) {
    migrate(db, 'jobs-test-registry', [
      'CREATE TABLE jt_thing (name TEXT PRIMARY KEY, id TEXT NOT NULL)',
      'CREATE TABLE jt_group (name TEXT PRIMARY KEY, id TEXT NOT NULL)',
      'CREATE TABLE jt_member (grp TEXT NOT NULL, thing TEXT NOT NULL, PRIMARY KEY (grp, thing))',
    ]);
  }

  createThing(name: string): void {
    this.db.prepare('INSERT OR IGNORE INTO jt_thing (name, id) VALUES (?, ?)').run(name, `id-${name}`);
  }

  createThingGroup(name: string): void {
    this.db.prepare('INSERT OR IGNORE INTO jt_group (name, id) VALUES (?, ?)').run(name, `gid-${name}`);
  }

  addThingToGroup(thingName: string, groupName: string): void {
    const r = this.db.prepare('INSERT OR IGNORE INTO jt_member (grp, thing) VALUES (?, ?)').run(groupName, thingName);
    if (r.changes > 0) this.emit({ kind: 'added', thingName, thingGroupName: groupName });
  }

  removeThingFromGroup(thingName: string, groupName: string): void {
    const r = this.db.prepare('DELETE FROM jt_member WHERE grp = ? AND thing = ?').run(groupName, thingName);
    if (r.changes > 0) this.emit({ kind: 'removed', thingName, thingGroupName: groupName });
  }

  getThing(thingName: string): ThingRecord | undefined {
    const row = this.db.prepare('SELECT name, id FROM jt_thing WHERE name = ?').get(thingName) as
      { name: string; id: string } | undefined;
    return (
      row && {
        thingName: row.name,
        thingArn: thingArn(this.arn, row.name),
        thingId: row.id,
        attributes: {},
        version: 1,
      }
    );
  }

  getThingGroup(name: string): ThingGroupRecord | undefined {
    const row = this.db.prepare('SELECT name, id FROM jt_group WHERE name = ?').get(name) as
      { name: string; id: string } | undefined;
    return row && { thingGroupName: row.name, thingGroupArn: thingGroupArn(this.arn, row.name), thingGroupId: row.id };
  }

  listThingsInGroup(name: string): readonly string[] {
    return (
      this.db.prepare('SELECT thing FROM jt_member WHERE grp = ? ORDER BY thing').all(name) as { thing: string }[]
    ).map((r) => r.thing);
  }

  onMembershipChange(listener: (change: MembershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: MembershipChange): void {
    for (const l of this.listeners) l(change);
  }
}
