import type { DescribeEventConfigurationsResponse, UpdateEventConfigurationsRequest } from '@aws-sdk/client-iot';
import { Type } from '@sinclair/typebox';
import { EVENT_TYPES, type IotEventType } from '@otafleet/protocol';
import { migrate, type Db } from '../db.js';
import { validated } from './control-validation.js';

/*
 * UpdateEventConfigurations / DescribeEventConfigurations: which reserved `$aws/events/...` messages the core
 * publishes, persisted. Every type is off until enabled, as on AWS.
 * https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateEventConfigurations.html
 */
const STEPS: readonly string[] = [
  `CREATE TABLE event_configuration (
     event_type TEXT PRIMARY KEY,
     enabled INTEGER NOT NULL,
     last_modified_at INTEGER NOT NULL
   ) WITHOUT ROWID`,
];

const Configuration = Type.Object({ Enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const UpdateEventConfigurationsSchema = Type.Object({
  eventConfigurations: Type.Optional(
    Type.Object(Object.fromEntries(EVENT_TYPES.map((t) => [t, Type.Optional(Configuration)])), {
      additionalProperties: false,
    }),
  ),
});
const parseUpdate = validated(UpdateEventConfigurationsSchema);

export class EventConfigurations {
  private readonly enabled = new Map<IotEventType, boolean>();
  private lastModifiedAt: number | undefined;
  private readonly s;

  constructor(
    db: Db,
    private readonly now: () => number,
    /** When the configuration was first created (DescribeEventConfigurations' creationDate). */
    private readonly createdAt = now(),
  ) {
    migrate(db, 'events', STEPS);
    this.s = {
      all: db.prepare('SELECT event_type, enabled, last_modified_at FROM event_configuration'),
      upsert: db.prepare(
        `INSERT INTO event_configuration (event_type, enabled, last_modified_at) VALUES (?, ?, ?)
         ON CONFLICT (event_type) DO UPDATE SET enabled = excluded.enabled, last_modified_at = excluded.last_modified_at`,
      ),
      save: db.transaction((changes: readonly (readonly [IotEventType, boolean])[], at: number) => {
        for (const [type, on] of changes) this.s.upsert.run(type, on ? 1 : 0, at);
      }),
    };
    for (const r of this.s.all.all() as { event_type: IotEventType; enabled: number; last_modified_at: number }[]) {
      this.enabled.set(r.event_type, r.enabled === 1);
      this.lastModifiedAt = Math.max(this.lastModifiedAt ?? 0, r.last_modified_at);
    }
  }

  isEnabled(type: IotEventType): boolean {
    return this.enabled.get(type) === true;
  }

  update(input: UpdateEventConfigurationsRequest): void {
    const req = parseUpdate(input);
    const given = (req.eventConfigurations ?? {}) as Partial<Record<IotEventType, { Enabled?: boolean }>>;
    const changes = Object.entries(given)
      .filter(([, c]) => c.Enabled !== undefined)
      .map(([type, c]) => [type as IotEventType, c.Enabled === true] as const);
    const at = this.now();
    this.s.save(changes, at); // on disk (synchronous=FULL) before it is answered
    for (const [type, on] of changes) this.enabled.set(type, on);
    if (changes.length > 0) this.lastModifiedAt = at;
  }

  describe(): DescribeEventConfigurationsResponse {
    return {
      eventConfigurations: Object.fromEntries(EVENT_TYPES.map((t) => [t, { Enabled: this.isEnabled(t) }])),
      creationDate: new Date(this.createdAt),
      lastModifiedDate: new Date(this.lastModifiedAt ?? this.createdAt),
    };
  }
}
