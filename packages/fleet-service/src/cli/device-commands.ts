import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** What a device or group command asks of the CLI's shared request and output path. */
export interface CommandContext {
  readonly command: string | undefined;
  readonly arg: string | undefined;
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly request: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Row }>;
  readonly fail: (message: string) => never;
}

export interface CommandOutcome {
  readonly result: { status: number; body: Row };
  readonly show: (body: Row) => string;
  /** Exit code to use when the service answered 2xx (bulk enrolment with failures: partial). */
  readonly code?: number | undefined;
}

type Row = Record<string, unknown>;

export const DEVICE_CLI_HELP = `  devices enrol THING [--csr FILE | --generate | --certificate-arn ARN] [--attr NAME=VALUE ...]
                [--groups G1,G2] [--create-groups] [--thing-type T] [--out DIR]
                                               enrol one device; --out writes THING.cert.pem (and THING.key.pem)
  devices enrol --file FILE.csv|FILE.json [--concurrency N] [--out DIR]
                                               enrol many (CSV columns: thingName, certificate = csr|generate|none
                                               or a certificate ARN, csr = CSR file, groups = G1;G2, thingType,
                                               attr:NAME; JSON: a list of POST /v1/devices bodies)
  devices list [--attr NAME=VALUE ...] [--version V] [--slot A|B] [--health healthy|degraded|unhealthy|unknown]
               [--group G] [--connectivity online|offline] [--seen-before ISO] [--seen-after ISO]
               [--sort thingName|lastSeen|version] [--order asc|desc] [--limit N] [--all]
  devices show THING | devices history THING
  groups create NAME [--query FLEET_QUERY] [--description TEXT] [--parent G] | groups list
  groups members NAME | groups delete NAME`;

export const DEVICE_OPTIONS = {
  csr: { type: 'string' },
  generate: { type: 'boolean' },
  'certificate-arn': { type: 'string' },
  attr: { type: 'string', multiple: true },
  groups: { type: 'string' },
  'create-groups': { type: 'boolean' },
  'thing-type': { type: 'string' },
  out: { type: 'string' },
  file: { type: 'string' },
  concurrency: { type: 'string' },
  version: { type: 'string' },
  slot: { type: 'string' },
  health: { type: 'string' },
  connectivity: { type: 'string' },
  'seen-before': { type: 'string' },
  'seen-after': { type: 'string' },
  sort: { type: 'string' },
  order: { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  query: { type: 'string' },
  description: { type: 'string' },
  parent: { type: 'string' },
} as const;

/** Exit code of a bulk enrolment in which some devices failed (the others are enrolled). */
export const EXIT_PARTIAL = 10;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const text = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' ? `${v}` : JSON.stringify(v);

function table(rows: readonly Row[], columns: readonly string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => text(r[c]))))].join('\n');
}

function attributesOf(pairs: readonly string[], fail: CommandContext['fail']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(`--attr: "${pair}" is not NAME=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A minimal CSV reader: comma-separated, double quotes around fields that contain commas or quotes. */
export function parseCsv(textIn: string): string[][] {
  const rows: string[][] = [];
  for (const raw of textIn.split(/\r?\n/)) {
    if (raw.trim() === '') continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (quoted) {
        if (c === '"' && raw[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        fields.push(field);
        field = '';
      } else field += c;
    }
    fields.push(field);
    rows.push(fields.map((f) => f.trim()));
  }
  return rows;
}

/** The enrolment bodies of a CSV or JSON file (CSR paths relative to the file). */
export async function enrolmentsFromFile(path: string, fail: CommandContext['fail']): Promise<Row[]> {
  const content = await readFile(path, 'utf8').catch(() => fail(`cannot read ${path}`));
  if (path.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (e) {
      fail(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const devices = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown } | null)?.devices;
    if (!Array.isArray(devices)) fail(`${path}: expected a list of devices (or { "devices": [...] })`);
    return devices as Row[];
  }
  const [header, ...rows] = parseCsv(content);
  if (header?.includes('thingName') !== true)
    fail(`${path}: the first line must name the columns, thingName among them`);
  const base = dirname(resolve(path));
  const bodies: Row[] = [];
  for (const [n, row] of rows.entries()) {
    const cell = (name: string): string | undefined => {
      const i = header.indexOf(name);
      const v = i < 0 ? undefined : row[i];
      return v === undefined || v === '' ? undefined : v;
    };
    const thingName = cell('thingName') ?? fail(`${path} line ${n + 2}: thingName is empty`);
    const kind = cell('certificate') ?? (cell('csr') === undefined ? 'none' : 'csr');
    const csrFile = cell('csr');
    const certificate =
      kind === 'csr'
        ? {
            kind,
            csr: await readFile(
              join(base, csrFile ?? fail(`${path} line ${n + 2}: certificate csr needs a csr file`)),
              'utf8',
            ).catch(() => fail(`${path} line ${n + 2}: cannot read ${csrFile ?? ''}`)),
          }
        : kind === 'generate' || kind === 'none'
          ? { kind }
          : { kind: 'existing', certificateArn: kind };
    const attributes = Object.fromEntries(
      header.flatMap((h, i) => (h.startsWith('attr:') && (row[i] ?? '') !== '' ? [[h.slice(5), row[i] ?? '']] : [])),
    );
    const groups = cell('groups')
      ?.split(';')
      .filter((g) => g !== '');
    bodies.push({
      thingName,
      certificate,
      ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
      ...(groups === undefined ? {} : { groups, createGroups: cell('createGroups') === 'true' }),
      ...(cell('thingType') === undefined ? {} : { thingTypeName: cell('thingType') }),
    });
  }
  return bodies;
}

/** Writes a new certificate (and a generated key, owner-only) under `dir`; the paths written. */
async function writeCredentials(dir: string, r: Row): Promise<string[]> {
  const name = String(r.thingName);
  const written: string[] = [];
  await mkdir(dir, { recursive: true });
  if (typeof r.certificatePem === 'string') {
    const p = join(dir, `${name}.cert.pem`);
    await writeFile(p, r.certificatePem);
    written.push(p);
  }
  if (typeof r.privateKeyPem === 'string') {
    const p = join(dir, `${name}.key.pem`);
    await writeFile(p, r.privateKeyPem, { mode: 0o600 });
    await chmod(p, 0o600);
    written.push(p);
  }
  return written;
}

const enc = encodeURIComponent;

/** Runs `devices enrol|list|show|history` or `groups ...`; undefined when the command is not one of them. */
export async function runDeviceCommand(group: string, ctx: CommandContext): Promise<CommandOutcome | undefined> {
  const { command, arg, values, request, fail } = ctx;
  const need = (what: string, v: string | undefined): string => v ?? fail(`${group} ${command ?? ''}: missing ${what}`);
  const out = str(values.out);

  if (group === 'devices' && command === 'enrol') {
    const file = str(values.file);
    if (file !== undefined) {
      const devices = await enrolmentsFromFile(file, fail);
      const concurrency = str(values.concurrency);
      const result = await request('POST', '/v1/devices/bulk', {
        devices,
        ...(concurrency === undefined ? {} : { concurrency: Number(concurrency) }),
      });
      const results = (result.body.results as Row[] | undefined) ?? [];
      if (out !== undefined && result.status < 300)
        for (const r of results) if (r.ok === true) await writeCredentials(out, r);
      const summary = (result.body.summary as Row | undefined) ?? {};
      return {
        result,
        code: Number(summary.failed ?? 0) > 0 ? EXIT_PARTIAL : undefined,
        show: () =>
          `${text(summary.created)} created, ${text(summary.existing)} already enrolled, ${text(summary.failed)} failed\n` +
          table(
            results.map((r) => ({
              ...r,
              result: r.ok === true ? (r.created === true ? 'created' : 'existing') : r.code,
            })),
            ['thingName', 'result', 'certificateId', 'message'],
          ),
      };
    }
    const thingName = need('THING', arg);
    const csrPath = str(values.csr);
    const arn = str(values['certificate-arn']);
    const chosen = [csrPath !== undefined, values.generate === true, arn !== undefined].filter(Boolean).length;
    if (chosen > 1) fail('devices enrol: give one of --csr, --generate and --certificate-arn');
    const certificate =
      csrPath !== undefined
        ? { kind: 'csr', csr: await readFile(csrPath, 'utf8').catch(() => fail(`cannot read ${csrPath}`)) }
        : values.generate === true
          ? { kind: 'generate' }
          : arn !== undefined
            ? { kind: 'existing', certificateArn: arn }
            : { kind: 'none' };
    if (values.generate === true && out === undefined && values.json !== true)
      fail('devices enrol --generate: pass --out DIR (the private key is returned once, here only) or --json');
    const attributes = attributesOf(list(values.attr), fail);
    const groups = str(values.groups)
      ?.split(',')
      .filter((g) => g !== '');
    const thingType = str(values['thing-type']);
    const result = await request('POST', '/v1/devices', {
      thingName,
      certificate,
      ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
      ...(groups === undefined ? {} : { groups }),
      ...(values['create-groups'] === true ? { createGroups: true } : {}),
      ...(thingType === undefined ? {} : { thingTypeName: thingType }),
    });
    const written = out !== undefined && result.status < 300 ? await writeCredentials(out, result.body) : [];
    return {
      result,
      show: (b) =>
        `${b.created === true ? 'enrolled' : 'already enrolled'} ${text(b.thingName)}` +
        `${b.certificateId === undefined ? '' : ` with certificate ${text(b.certificateId)}`}` +
        written.map((p) => `\nwrote ${p}`).join(''),
    };
  }

  if (group === 'devices' && command === 'list') {
    const params = new URLSearchParams();
    for (const pair of list(values.attr)) params.append('attribute', pair);
    const map: [string, string][] = [
      ['version', 'version'],
      ['slot', 'slot'],
      ['health', 'health'],
      ['group', 'group'],
      ['connectivity', 'connectivity'],
      ['seen-before', 'lastSeenBefore'],
      ['seen-after', 'lastSeenAfter'],
      ['sort', 'sort'],
      ['order', 'order'],
      ['limit', 'limit'],
    ];
    for (const [flag, param] of map) {
      const v = str(values[flag]);
      if (v !== undefined) params.set(param, v);
    }
    const devices: Row[] = [];
    let result: { status: number; body: Row };
    let pages = 0;
    for (;;) {
      result = await request('GET', `/v1/devices?${params.toString()}`);
      if (result.status >= 300) break;
      devices.push(...((result.body.devices as Row[] | undefined) ?? []));
      const next = str(result.body.nextToken);
      if (values.all !== true || next === undefined || ++pages >= 10_000) break;
      params.set('nextToken', next);
    }
    if (values.all === true && result.status < 300) result = { status: result.status, body: { devices } };
    return {
      result,
      show: (b) =>
        table(
          ((b.devices as Row[] | undefined) ?? []).map((d) => {
            const h = d.health as Row | undefined;
            return {
              thingName: d.thingName,
              version: h?.firmwareVersion,
              slot: h?.slot,
              health: h?.status ?? 'unknown',
              connectivity: d.connectivity,
              lastSeen: h === undefined ? '' : new Date(Number(h.lastSeen)).toISOString(),
              groups: (d.groups as string[] | undefined)?.join(','),
            };
          }),
          ['thingName', 'version', 'slot', 'health', 'connectivity', 'lastSeen', 'groups'],
        ) + (typeof b.nextToken === 'string' ? `\n(more: --all, or the API's nextToken)` : ''),
    };
  }

  if (group === 'devices' && command === 'show') {
    return {
      result: await request('GET', `/v1/devices/${enc(need('THING', arg))}`),
      show: (b) => JSON.stringify(b, null, 2),
    };
  }

  if (group === 'devices' && command === 'history') {
    const result = await request('GET', `/v1/devices/${enc(need('THING', arg))}/history`);
    return {
      result,
      show: (b) =>
        `${text(b.thingName)} on ${text(b.currentVersion ?? 'unknown version')}\n` +
        table((b.entries as Row[] | undefined) ?? [], [
          'queuedAt',
          'jobId',
          'rolloutId',
          'kind',
          'status',
          'reasonCode',
          'fromVersion',
          'toVersion',
        ]),
    };
  }

  if (group === 'groups' && command === 'create') {
    const name = need('NAME', arg);
    const query = str(values.query);
    const description = str(values.description);
    const parent = str(values.parent);
    const result = await request(
      'POST',
      '/v1/groups',
      query === undefined
        ? {
            kind: 'static',
            groupName: name,
            ...(description === undefined ? {} : { description }),
            ...(parent === undefined ? {} : { parentGroupName: parent }),
          }
        : {
            kind: 'dynamic',
            groupName: name,
            queryString: query,
            ...(description === undefined ? {} : { description }),
          },
    );
    return { result, show: (b) => `created ${text(b.kind)} group ${text(b.groupName)}` };
  }
  if (group === 'groups' && command === 'list') {
    const result = await request('GET', '/v1/groups?limit=250');
    return { result, show: (b) => table((b.groups as Row[] | undefined) ?? [], ['groupName', 'groupArn']) };
  }
  if (group === 'groups' && command === 'members') {
    const result = await request('GET', `/v1/groups/${enc(need('NAME', arg))}/members?limit=250`);
    return { result, show: (b) => ((b.things as string[] | undefined) ?? []).join('\n') };
  }
  if (group === 'groups' && command === 'delete') {
    const result = await request('DELETE', `/v1/groups/${enc(need('NAME', arg))}`);
    return { result, show: (b) => `deleted ${text(b.kind)} group ${text(b.groupName)}` };
  }
  return undefined;
}
