import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { AwsServiceError } from '../aws-error.js';
import type { Db } from '../db.js';
import { certificateIdOfDer, isCertificateId } from './certificate-id.js';
import {
  CERTIFICATE_STATUSES,
  SETTABLE_CERTIFICATE_STATUSES,
  canChangeStatus,
  type CertificateStatus,
} from './certificate-status.js';
import { openCertificateStore, type CertificateRecord } from './certificate-store.js';

export interface CertificateArnScope {
  readonly region: string;
  readonly accountId: string;
}

/** DescribeCertificate's `certificateDescription`, as AWS shapes it (dates as Date; the wire makes them epoch seconds). */
export interface CertificateDescription {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly status: CertificateStatus;
  readonly certificatePem: string;
  readonly ownedBy: string;
  readonly creationDate: Date;
  readonly lastModifiedDate: Date;
  readonly customerVersion: number;
  readonly generationId: string;
  readonly validity: { readonly notBefore: Date; readonly notAfter: Date };
  readonly certificateMode: 'DEFAULT';
}

/** One entry of ListCertificates' `certificates`. */
export interface CertificateSummary {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly status: CertificateStatus;
  readonly certificateMode: 'DEFAULT';
  readonly creationDate: Date;
}

export interface ListCertificatesInput {
  readonly pageSize?: number;
  readonly marker?: string;
  readonly ascendingOrder?: boolean;
}

/** What a presented certificate may do: only an ACTIVE one authenticates. */
export interface CertificateAdmission {
  readonly certificateId: string;
  readonly status: CertificateStatus;
}

export type CertificateChangeListener = (record: CertificateRecord) => void;

/**
 * The AWS IoT certificate registry of the local core: every certificate the local CA issued that the core has
 * seen (registered ACTIVE on first sight: issued by the CLI, found under pki/, or presented at connect) and its
 * status. Status changes reach listeners at once when made here (UpdateCertificate) and within `pollMs` when
 * another process (the CA CLI) commits them to the same database.
 */
export interface CertificateRegistry {
  describeCertificate(input: { readonly certificateId: string }): { certificateDescription: CertificateDescription };
  listCertificates(input: ListCertificatesInput): { certificates: CertificateSummary[]; nextMarker?: string };
  updateCertificate(input: { readonly certificateId: string; readonly newStatus: string }): void;
  /** Registers `pem` if unknown; its id and status. */
  register(pem: string): CertificateAdmission;
  /** The broker's check: registers an unknown certificate (chain already verified) and says whether it may connect. */
  admit(der: Buffer): CertificateAdmission;
  /** Every certificate that is not ACTIVE (what a CRL lists). */
  notActive(): CertificateRecord[];
  /** Common name and status of every certificate. */
  statusesByCommonName(): { readonly commonName: string; readonly status: CertificateStatus }[];
  /** Called with each certificate registered or whose status changed. */
  onChange(listener: CertificateChangeListener): () => void;
  close(): void;
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 250;
const DEFAULT_POLL_MS = 250;

const invalid = (message: string): AwsServiceError => new AwsServiceError('InvalidRequestException', 400, message);

const encodeMarker = (seq: number): string => Buffer.from(`seq:${seq}`).toString('base64');
function decodeMarker(marker: string): number {
  const text = Buffer.from(marker, 'base64').toString();
  const match = /^seq:(\d{1,15})$/.exec(text);
  if (match?.[1] === undefined || Buffer.from(text).toString('base64') !== marker)
    throw invalid('The marker is not valid: pass the nextMarker of an earlier ListCertificates answer.');
  return Number(match[1]);
}

function checkId(certificateId: string): string {
  if (!isCertificateId(certificateId))
    throw invalid(`certificateId must be 64 hex digits (the SHA-256 of the certificate's DER): ${certificateId}`);
  return certificateId.toLowerCase();
}

export function createCertificateRegistry(
  db: Db,
  scope: CertificateArnScope,
  options: { readonly logger?: Logger; readonly pollMs?: number; readonly now?: () => number } = {},
): CertificateRegistry {
  const store = openCertificateStore(db);
  const now = options.now ?? Date.now;
  const listeners = new Set<CertificateChangeListener>();
  const arnOf = (id: string): string => `arn:aws:iot:${scope.region}:${scope.accountId}:cert/${id}`;
  const emit = (record: CertificateRecord): void => {
    for (const listener of listeners) {
      try {
        listener(record);
      } catch (e) {
        options.logger?.error({ err: e, certificateId: record.certificateId }, 'certificate listener failed');
      }
    }
  };

  // Another process (the CA CLI) writing the file changes data_version; diff the statuses then.
  let seenCounter = store.changeCounter();
  let known = new Map(store.inactive());
  const poll = setInterval(() => {
    const counter = store.changeCounter();
    if (counter === seenCounter) return;
    seenCounter = counter;
    const current = store.inactive();
    const changed = [...current].filter(([id, status]) => known.get(id) !== status).map(([id]) => id);
    const reactivated = [...known.keys()].filter((id) => !current.has(id));
    for (const id of [...changed, ...reactivated]) {
      const record = store.get(id);
      if (record !== undefined) emit(record);
    }
    known = current;
  }, options.pollMs ?? DEFAULT_POLL_MS);
  poll.unref();

  const found = (certificateId: string): CertificateRecord => {
    const record = store.get(checkId(certificateId));
    if (record === undefined)
      throw new AwsServiceError('ResourceNotFoundException', 404, `Certificate ${certificateId} does not exist`);
    return record;
  };

  const registerCertificate = (certificate: X509Certificate): CertificateAdmission => {
    const before = store.get(certificateIdOfDer(certificate.raw));
    const record = before ?? store.register(certificate, now());
    if (before === undefined) {
      options.logger?.info(
        { certificateId: record.certificateId, commonName: record.commonName },
        'certificate registered',
      );
      emit(record);
    }
    return { certificateId: record.certificateId, status: record.status };
  };

  return {
    describeCertificate({ certificateId }) {
      const r = found(certificateId);
      return {
        certificateDescription: {
          certificateArn: arnOf(r.certificateId),
          certificateId: r.certificateId,
          status: r.status,
          certificatePem: r.certificatePem,
          ownedBy: scope.accountId,
          creationDate: new Date(r.creationDate),
          lastModifiedDate: new Date(r.lastModifiedDate),
          customerVersion: 1,
          generationId: `${r.seq}-${r.lastModifiedDate}`,
          validity: { notBefore: new Date(r.notBefore), notAfter: new Date(r.notAfter) },
          certificateMode: 'DEFAULT',
        },
      };
    },

    listCertificates({ pageSize, marker, ascendingOrder }) {
      const limit = pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
        throw invalid(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}: ${limit}`);
      const ascending = ascendingOrder ?? false;
      const rows = store.page({
        ...(marker === undefined ? {} : { afterSeq: decodeMarker(marker) }),
        limit: limit + 1,
        ascending,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        certificates: page.map((r) => ({
          certificateArn: arnOf(r.certificateId),
          certificateId: r.certificateId,
          status: r.status,
          certificateMode: 'DEFAULT',
          creationDate: new Date(r.creationDate),
        })),
        ...(rows.length > limit && last !== undefined ? { nextMarker: encodeMarker(last.seq) } : {}),
      };
    },

    updateCertificate({ certificateId, newStatus }) {
      const id = checkId(certificateId);
      if (!(CERTIFICATE_STATUSES as readonly string[]).includes(newStatus))
        throw invalid(`newStatus must be one of ${CERTIFICATE_STATUSES.join(', ')}: ${newStatus}`);
      const status = newStatus as CertificateStatus;
      if (!SETTABLE_CERTIFICATE_STATUSES.has(status))
        throw invalid(
          `newStatus ${status} is used internally by AWS IoT or deprecated; use ACTIVE, INACTIVE or REVOKED`,
        );
      const record = found(id);
      if (!canChangeStatus(record.status, status))
        throw new AwsServiceError(
          'CertificateStateException',
          406,
          `Certificate ${id} is REVOKED; a revoked certificate's status cannot be changed`,
        );
      if (record.status === status) return; // idempotent, as AWS documents
      store.setStatus(id, status, now());
      seenCounter = store.changeCounter();
      known = store.inactive();
      const updated = store.get(id);
      options.logger?.info({ certificateId: id, from: record.status, to: status }, 'certificate status changed');
      if (updated !== undefined) emit(updated);
    },

    register: (pem) => registerCertificate(new X509Certificate(pem)),
    admit: (der) => registerCertificate(new X509Certificate(der)),

    notActive: () => store.notActiveRecords(),
    statusesByCommonName: () => store.statusesByCommonName(),

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      clearInterval(poll);
      listeners.clear();
    },
  };
}
