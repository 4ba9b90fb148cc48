import { createHash } from 'node:crypto';
import { openFleetDatabase } from '../sqlite.js';

/** What the fleet service recorded when it enrolled a device (the registry stays the source of truth for the rest). */
export interface EnrolledDevice {
  readonly thingName: string;
  readonly thingTypeName: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
  readonly groups: readonly string[];
  readonly certificateId: string | undefined;
  readonly certificateArn: string | undefined;
  /** SHA-256 of the CSR the certificate was made from: enrolling again with the same CSR returns the same one. */
  readonly csrSha256: string | undefined;
  readonly enrolledAt: number;
  readonly enrolledBy: string;
}

export const HEALTH_FILTER_VALUES = ['healthy', 'degraded', 'unhealthy', 'unknown'] as const;
export type HealthFilter = (typeof HEALTH_FILTER_VALUES)[number];
export const CONNECTIVITY_VALUES = ['online', 'offline'] as const;
export type Connectivity = (typeof CONNECTIVITY_VALUES)[number];
export const SORT_KEYS = ['thingName', 'lastSeen', 'version'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface DeviceFilter {
  /** Every pair must match the thing's attribute exactly. */
  readonly attributes?: Readonly<Record<string, string>>;
  readonly thingTypeName?: string;
  readonly version?: string;
  readonly slot?: 'A' | 'B';
  /** `unknown`: no health report yet. */
  readonly health?: HealthFilter;
  readonly lastSeenBefore?: number;
  readonly lastSeenAfter?: number;
  /** Devices whose last report is newer than `now - onlineWindowMs` are online. */
  readonly connectivity?: Connectivity;
  /** Only these things (a group's members, resolved from the registry by the caller). */
  readonly thingNames?: readonly string[];
}

export interface ListOptions {
  readonly filter: DeviceFilter;
  readonly sort: SortKey;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  readonly nextToken?: string;
  readonly now: number;
  readonly onlineWindowMs: number;
}

/** One row of the listing: the enrolment record and what the health store knows of the device. */
export interface DeviceView extends EnrolledDevice {
  readonly connectivity: Connectivity;
  readonly health:
    | {
        readonly lastSeen: number;
        readonly firmwareVersion: string;
        readonly status: string;
        readonly slot: string | undefined;
        readonly report: unknown;
      }
    | undefined;
}

export class DeviceIndexError extends Error {
  constructor(
    readonly code: 'INVALID_NEXT_TOKEN',
    message: string,
  ) {
    super(message);
    this.name = 'DeviceIndexError';
  }
}

export interface DeviceIndex {
  /** Records an enrolment (a device enrolled again keeps its first enrolment time). */
  put(device: EnrolledDevice): void;
  /** Many enrolment records in one transaction (one fsync). */
  putMany(devices: readonly EnrolledDevice[]): void;
  get(thingName: string, at: { readonly now: number; readonly onlineWindowMs: number }): DeviceView | undefined;
  /** One page, filtered and sorted in SQL over the device index joined with the health store. */
  list(options: ListOptions): { readonly devices: DeviceView[]; readonly nextToken?: string };
  count(): number;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS device (
  thing_name TEXT PRIMARY KEY, thing_type TEXT, attributes TEXT NOT NULL, groups TEXT NOT NULL,
  certificate_id TEXT, certificate_arn TEXT, csr_sha256 TEXT, enrolled_at INTEGER NOT NULL, enrolled_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS device_by_type ON device (thing_type);
`;

/** The sort expressions: a missing health report sorts first ascending (never seen, no version). */
const SORT_SQL: Record<SortKey, string> = {
  thingName: 'd.thing_name',
  lastSeen: 'coalesce(h.received_at, -1)',
  version: "coalesce(h.firmware_version, '')",
};

interface Row {
  thing_name: string;
  thing_type: string | null;
  attributes: string;
  groups: string;
  certificate_id: string | null;
  certificate_arn: string | null;
  csr_sha256: string | null;
  enrolled_at: number;
  enrolled_by: string;
  received_at: number | null;
  firmware_version: string | null;
  status: string | null;
  report: string | null;
  sort_key: string | number;
}

interface PageToken {
  readonly v: 1;
  /** Hash of the filter, sort and order the token was made for: another query may not continue it. */
  readonly q: string;
  readonly k: string | number;
  readonly n: string;
}

const SELECT_COLUMNS = 'SELECT d.*, h.received_at, h.firmware_version, h.status, h.report';
const FROM = 'FROM device d LEFT JOIN health.device_health h ON h.thing_name = d.thing_name';

/**
 * The fleet service's device index: one SQLite row per enrolled device, joined in SQL with the health store's
 * newest report per device (its file ATTACHed read side), so a filtered page over 50,000 devices is one query
 * and no SDK call per device. `healthPath` is the health store's file; open the health store first.
 */
export function openDeviceIndex(path: string, options: { readonly healthPath: string }): DeviceIndex {
  const db = openFleetDatabase(path);
  db.exec(SCHEMA);
  db.prepare('ATTACH DATABASE ? AS health').run(options.healthPath);
  const upsert = db.prepare(
    'INSERT INTO device (thing_name, thing_type, attributes, groups, certificate_id, certificate_arn, csr_sha256, ' +
      'enrolled_at, enrolled_by) VALUES (@thingName, @thingTypeName, @attributes, @groups, @certificateId, ' +
      '@certificateArn, @csrSha256, @enrolledAt, @enrolledBy) ON CONFLICT (thing_name) DO UPDATE SET ' +
      'thing_type = excluded.thing_type, attributes = excluded.attributes, groups = excluded.groups, ' +
      'certificate_id = coalesce(excluded.certificate_id, certificate_id), ' +
      'certificate_arn = coalesce(excluded.certificate_arn, certificate_arn), ' +
      'csr_sha256 = coalesce(excluded.csr_sha256, csr_sha256)',
  );
  const one = db.prepare<[string], Row>(`${SELECT_COLUMNS}, d.thing_name AS sort_key ${FROM} WHERE d.thing_name = ?`);
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM device');
  const pageRows = db.prepare<[string], Row>(
    `${SELECT_COLUMNS}, NULL AS sort_key ${FROM} WHERE d.thing_name IN (SELECT value FROM json_each(?))`,
  );

  const view = (r: Row, now: number, onlineWindowMs: number): DeviceView => {
    const report = r.report === null ? undefined : (JSON.parse(r.report) as Record<string, unknown>);
    return {
      thingName: r.thing_name,
      thingTypeName: r.thing_type ?? undefined,
      attributes: JSON.parse(r.attributes) as Record<string, string>,
      groups: JSON.parse(r.groups) as string[],
      certificateId: r.certificate_id ?? undefined,
      certificateArn: r.certificate_arn ?? undefined,
      csrSha256: r.csr_sha256 ?? undefined,
      enrolledAt: r.enrolled_at,
      enrolledBy: r.enrolled_by,
      connectivity: r.received_at !== null && r.received_at >= now - onlineWindowMs ? 'online' : 'offline',
      health:
        r.received_at === null || report === undefined
          ? undefined
          : {
              lastSeen: r.received_at,
              firmwareVersion: r.firmware_version ?? '',
              status: r.status ?? '',
              slot: typeof report['activeSlot'] === 'string' ? report['activeSlot'] : undefined,
              report,
            },
    };
  };

  const put = (d: EnrolledDevice): void => {
    upsert.run({
      thingName: d.thingName,
      thingTypeName: d.thingTypeName ?? null,
      attributes: JSON.stringify(d.attributes),
      groups: JSON.stringify(d.groups),
      certificateId: d.certificateId ?? null,
      certificateArn: d.certificateArn ?? null,
      csrSha256: d.csrSha256 ?? null,
      enrolledAt: d.enrolledAt,
      enrolledBy: d.enrolledBy,
    });
  };
  const putAll = db.transaction((devices: readonly EnrolledDevice[]) => {
    for (const d of devices) put(d);
  });

  return {
    put,
    putMany: (devices) => void putAll(devices),

    get(thingName, at) {
      const row = one.get(thingName);
      return row === undefined ? undefined : view(row, at.now, at.onlineWindowMs);
    },

    list(o) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      const add = (sql: string, ...values: (string | number)[]): void => {
        where.push(sql);
        args.push(...values);
      };
      const f = o.filter;
      for (const [key, value] of Object.entries(f.attributes ?? {}))
        add('json_extract(d.attributes, ?) = ?', `$."${key}"`, value);
      if (f.thingTypeName !== undefined) add('d.thing_type = ?', f.thingTypeName);
      if (f.version !== undefined) add('h.firmware_version = ?', f.version);
      if (f.slot !== undefined) add("json_extract(h.report, '$.activeSlot') = ?", f.slot);
      if (f.health === 'unknown') add('h.thing_name IS NULL');
      else if (f.health !== undefined) add('h.status = ?', f.health);
      if (f.lastSeenBefore !== undefined) add('h.received_at < ?', f.lastSeenBefore);
      if (f.lastSeenAfter !== undefined) add('h.received_at >= ?', f.lastSeenAfter);
      const onlineSince = o.now - o.onlineWindowMs;
      if (f.connectivity === 'online') add('h.received_at >= ?', onlineSince);
      if (f.connectivity === 'offline') add('(h.received_at IS NULL OR h.received_at < ?)', onlineSince);
      if (f.thingNames !== undefined)
        add('d.thing_name IN (SELECT value FROM json_each(?))', JSON.stringify(f.thingNames));

      // The token is bound to the query it continues (not to `now`: online devices may move between pages).
      const queryHash = createHash('sha256')
        .update(JSON.stringify({ f, s: o.sort, o: o.order }))
        .digest('base64url')
        .slice(0, 16);
      const sortSql = SORT_SQL[o.sort];
      if (o.nextToken !== undefined) {
        const token = decodeToken(o.nextToken);
        if (token.q !== queryHash)
          throw new DeviceIndexError('INVALID_NEXT_TOKEN', 'nextToken belongs to another query (filters or sort)');
        add(`(${sortSql}, d.thing_name) ${o.order === 'asc' ? '>' : '<'} (?, ?)`, token.k, token.n);
      }
      // Two steps: the filter and sort carry only names and sort keys (not the reports, ~1 KB each, through the
      // sorter), then the page's rows are read by name.
      const sql =
        `SELECT d.thing_name, ${sortSql} AS sort_key ${FROM}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ` +
        `ORDER BY sort_key ${o.order}, d.thing_name ${o.order} LIMIT ?`;
      const keys = db
        .prepare<(string | number)[], { thing_name: string; sort_key: string | number }>(sql)
        .all(...args, o.limit + 1);
      const byName = new Map(
        pageRows.all(JSON.stringify(keys.slice(0, o.limit).map((k) => k.thing_name))).map((r) => [r.thing_name, r]),
      );
      const rows = keys.flatMap((k) => {
        const row = byName.get(k.thing_name);
        return row === undefined ? [] : [{ ...row, sort_key: k.sort_key }];
      });
      const more = keys.length > o.limit;
      const page = rows.slice(0, o.limit);
      const last = page.at(-1);
      return {
        devices: page.map((r) => view(r, o.now, o.onlineWindowMs)),
        ...(more && last !== undefined
          ? { nextToken: encodeToken({ v: 1, q: queryHash, k: last.sort_key, n: last.thing_name }) }
          : {}),
      };
    },

    count: () => count.get()?.n ?? 0,
    close: () => void db.close(),
  };
}

const encodeToken = (t: PageToken): string => Buffer.from(JSON.stringify(t)).toString('base64url');

function decodeToken(token: string): PageToken {
  const bad = (): DeviceIndexError =>
    new DeviceIndexError('INVALID_NEXT_TOKEN', 'nextToken is not one this listing handed out');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const t = parsed as Partial<PageToken> | null;
  if (
    t === null ||
    typeof t !== 'object' ||
    t.v !== 1 ||
    typeof t.q !== 'string' ||
    typeof t.n !== 'string' ||
    (typeof t.k !== 'string' && typeof t.k !== 'number')
  )
    throw bad();
  return t as PageToken;
}
