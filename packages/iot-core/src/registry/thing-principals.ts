import { AwsServiceError } from '../aws-error.js';
import { migrate, type Db } from '../db.js';
import type { CertificateArnScope, CertificateRegistry } from '../identity/certificate-registry.js';
import { nameCursorTokens } from '../page-token.js';
import type { ThingRegistry } from './thing-registry.js';

/**
 * Which principals (certificates) are attached to which things: AttachThingPrincipal, DetachThingPrincipal,
 * ListThingPrincipals and ListPrincipalThings, with AWS's URIs, shapes and errors. The local broker still names a
 * device by its certificate's CN; the attachment is the registry record AWS keeps, which the fleet service reads.
 * See https://docs.aws.amazon.com/iot/latest/apireference/API_AttachThingPrincipal.html
 */
export interface ThingPrincipals {
  attachThingPrincipal(input: {
    readonly thingName: string;
    readonly principal: string;
    readonly thingPrincipalType?: string;
  }): Promise<void>;
  detachThingPrincipal(input: { readonly thingName: string; readonly principal: string }): Promise<void>;
  listThingPrincipals(input: {
    readonly thingName: string;
    readonly maxResults?: number;
    readonly nextToken?: string;
  }): Promise<{ principals: string[]; nextToken?: string }>;
  listPrincipalThings(input: {
    readonly principal: string;
    readonly maxResults?: number;
    readonly nextToken?: string;
  }): Promise<{ things: string[]; nextToken?: string }>;
}

export const THING_PRINCIPAL_TYPES = ['EXCLUSIVE_THING', 'NON_EXCLUSIVE_THING'] as const;
const MAX_RESULTS = 250;
const DEFAULT_RESULTS = 25;
const CERT_ARN = /^arn:aws:iot:([a-z0-9-]+):(\d{12}):cert\/([a-fA-F0-9]{64})$/;

const MIGRATIONS = [
  `CREATE TABLE thing_principal (
     thing_name TEXT NOT NULL, principal TEXT NOT NULL, exclusive INTEGER NOT NULL, attached_at INTEGER NOT NULL,
     PRIMARY KEY (thing_name, principal));
   CREATE INDEX thing_principal_by_principal ON thing_principal (principal, thing_name);`,
];

const invalid = (message: string): AwsServiceError => new AwsServiceError('InvalidRequestException', 400, message);

function pageSize(maxResults: number | undefined): number {
  const n = maxResults ?? DEFAULT_RESULTS;
  if (!Number.isInteger(n) || n < 1 || n > MAX_RESULTS)
    throw invalid(`maxResults must be an integer from 1 to ${MAX_RESULTS}: ${n}`);
  return n;
}

export function createThingPrincipals(
  db: Db,
  deps: {
    readonly registry: Pick<ThingRegistry, 'describeThing'>;
    readonly certificates: Pick<CertificateRegistry, 'describeCertificate'>;
    readonly scope: CertificateArnScope;
    readonly now?: () => number;
  },
): ThingPrincipals {
  migrate(db, 'thing-principals', MIGRATIONS);
  const now = deps.now ?? Date.now;
  const q = {
    insert: db.prepare(
      'INSERT OR IGNORE INTO thing_principal (thing_name, principal, exclusive, attached_at) VALUES (?, ?, ?, ?)',
    ),
    remove: db.prepare('DELETE FROM thing_principal WHERE thing_name = ? AND principal = ?'),
    ofThing: db.prepare<[string, string, number], { principal: string }>(
      'SELECT principal FROM thing_principal WHERE thing_name = ? AND principal > ? ORDER BY principal LIMIT ?',
    ),
    ofPrincipal: db.prepare<[string, string, number], { thing_name: string }>(
      'SELECT thing_name FROM thing_principal WHERE principal = ? AND thing_name > ? ORDER BY thing_name LIMIT ?',
    ),
    otherThings: db.prepare<[string, string], { thing_name: string; exclusive: number }>(
      'SELECT thing_name, exclusive FROM thing_principal WHERE principal = ? AND thing_name <> ?',
    ),
  };
  const thingTokens = nameCursorTokens('ListThingPrincipals');
  const principalTokens = nameCursorTokens('ListPrincipalThings');

  /** The principal's canonical ARN (lowercase certificate id) once the certificate is known to exist. */
  const knownPrincipal = (principal: string): string => {
    const m = CERT_ARN.exec(principal);
    if (m === null)
      throw invalid(`principal must be a certificate ARN (arn:aws:iot:<region>:<account>:cert/<id>): ${principal}`);
    const [, region, accountId, id = ''] = m;
    if (region !== deps.scope.region || accountId !== deps.scope.accountId)
      throw new AwsServiceError('ResourceNotFoundException', 404, `Principal ${principal} does not exist`);
    deps.certificates.describeCertificate({ certificateId: id }); // ResourceNotFoundException when unknown
    return `arn:aws:iot:${region}:${accountId}:cert/${id.toLowerCase()}`;
  };

  return {
    async attachThingPrincipal({ thingName, principal, thingPrincipalType }) {
      const type = thingPrincipalType ?? 'NON_EXCLUSIVE_THING';
      if (!(THING_PRINCIPAL_TYPES as readonly string[]).includes(type))
        throw invalid(`thingPrincipalType must be one of ${THING_PRINCIPAL_TYPES.join(', ')}: ${type}`);
      await deps.registry.describeThing({ thingName });
      const arn = knownPrincipal(principal);
      const others = q.otherThings.all(arn, thingName);
      // An exclusively attached certificate belongs to one thing only, either way round.
      if (others.length > 0 && (type === 'EXCLUSIVE_THING' || others.some((o) => o.exclusive === 1)))
        throw new AwsServiceError(
          'ResourceAlreadyExistsException',
          409,
          `Principal ${arn} is already attached to thing ${others[0]?.thing_name ?? ''}${type === 'EXCLUSIVE_THING' ? '; it cannot be attached exclusively' : ' exclusively'}`,
        );
      q.insert.run(thingName, arn, type === 'EXCLUSIVE_THING' ? 1 : 0, now()); // attaching twice is a no-op
    },

    async detachThingPrincipal({ thingName, principal }) {
      await deps.registry.describeThing({ thingName });
      const m = CERT_ARN.exec(principal);
      if (m === null)
        throw invalid(`principal must be a certificate ARN (arn:aws:iot:<region>:<account>:cert/<id>): ${principal}`);
      q.remove.run(
        thingName,
        principal.replace(/cert\/(.*)$/, (_s, id: string) => `cert/${id.toLowerCase()}`),
      );
    },

    async listThingPrincipals({ thingName, maxResults, nextToken }) {
      const limit = pageSize(maxResults);
      await deps.registry.describeThing({ thingName });
      const after = thingTokens.decode(nextToken, thingName) ?? '';
      const rows = q.ofThing.all(thingName, after, limit + 1);
      const page = rows.slice(0, limit).map((r) => r.principal);
      const last = page.at(-1);
      return {
        principals: page,
        ...(rows.length > limit && last !== undefined ? { nextToken: thingTokens.encode(last, thingName) } : {}),
      };
    },

    listPrincipalThings({ principal, maxResults, nextToken }) {
      const limit = pageSize(maxResults);
      const arn = knownPrincipal(principal);
      const after = principalTokens.decode(nextToken, arn) ?? '';
      const rows = q.ofPrincipal.all(arn, after, limit + 1);
      const page = rows.slice(0, limit).map((r) => r.thing_name);
      const last = page.at(-1);
      return Promise.resolve({
        things: page,
        ...(rows.length > limit && last !== undefined ? { nextToken: principalTokens.encode(last, arn) } : {}),
      });
    },
  };
}
