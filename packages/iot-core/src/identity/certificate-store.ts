import type { X509Certificate } from 'node:crypto';
import { migrate, type Db } from '../db.js';
import { certificateIdOfDer } from './certificate-id.js';
import type { CertificateStatus } from './certificate-status.js';

/** One certificate the core knows, as stored. Dates are epoch milliseconds. */
export interface CertificateRecord {
  readonly certificateId: string;
  readonly commonName: string;
  readonly certificatePem: string;
  readonly status: CertificateStatus;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly creationDate: number;
  readonly lastModifiedDate: number;
  /** Insertion order: the list order and the page marker. */
  readonly seq: number;
}

const MIGRATIONS = [
  `CREATE TABLE certificates (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     certificate_id TEXT NOT NULL UNIQUE,
     common_name TEXT NOT NULL,
     certificate_pem TEXT NOT NULL,
     status TEXT NOT NULL,
     not_before INTEGER NOT NULL,
     not_after INTEGER NOT NULL,
     creation_date INTEGER NOT NULL,
     last_modified_date INTEGER NOT NULL
   );
   CREATE INDEX certificates_by_cn ON certificates (common_name)`,
];

interface Row {
  seq: number;
  certificate_id: string;
  common_name: string;
  certificate_pem: string;
  status: CertificateStatus;
  not_before: number;
  not_after: number;
  creation_date: number;
  last_modified_date: number;
}

const toRecord = (r: Row): CertificateRecord => ({
  seq: r.seq,
  certificateId: r.certificate_id,
  commonName: r.common_name,
  certificatePem: r.certificate_pem,
  status: r.status,
  notBefore: r.not_before,
  notAfter: r.not_after,
  creationDate: r.creation_date,
  lastModifiedDate: r.last_modified_date,
});

const commonNameOf = (cert: X509Certificate): string => /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';

/**
 * The certificates table (SQLite, the core's own file). The CA CLI and the running core both write it: the
 * core notices another process's commits through `changeCounter` (SQLite's data_version).
 */
export interface CertificateStore {
  /** Records a certificate ACTIVE unless already known; returns the stored record either way. */
  register(certificate: X509Certificate, now: number): CertificateRecord;
  get(certificateId: string): CertificateRecord | undefined;
  byCommonName(commonName: string): CertificateRecord[];
  /** `limit` records after `afterSeq`, in insertion order (or reverse). */
  page(options: {
    readonly afterSeq?: number;
    readonly limit: number;
    readonly ascending: boolean;
  }): CertificateRecord[];
  setStatus(certificateId: string, status: CertificateStatus, now: number): void;
  /** Statuses of every certificate that is not ACTIVE. */
  inactive(): Map<string, CertificateStatus>;
  /** Every certificate that is not ACTIVE, in full (what a CRL lists). */
  notActiveRecords(): CertificateRecord[];
  /** Common name and status of every certificate, without the PEMs. */
  statusesByCommonName(): { readonly commonName: string; readonly status: CertificateStatus }[];
  /** Changes whenever another connection commits to the database file. */
  changeCounter(): number;
}

export function openCertificateStore(db: Db): CertificateStore {
  migrate(db, 'certificates', MIGRATIONS);
  const insert = db.prepare(
    `INSERT INTO certificates (certificate_id, common_name, certificate_pem, status, not_before, not_after,
       creation_date, last_modified_date) VALUES (?, ?, ?, 'ACTIVE', ?, ?, ?, ?) ON CONFLICT (certificate_id) DO NOTHING`,
  );
  const byId = db.prepare('SELECT * FROM certificates WHERE certificate_id = ?');
  const byCn = db.prepare('SELECT * FROM certificates WHERE common_name = ? ORDER BY seq');
  const after = db.prepare('SELECT * FROM certificates WHERE seq > ? ORDER BY seq LIMIT ?');
  const before = db.prepare('SELECT * FROM certificates WHERE seq < ? ORDER BY seq DESC LIMIT ?');
  const update = db.prepare('UPDATE certificates SET status = ?, last_modified_date = ? WHERE certificate_id = ?');
  const notActive = db.prepare("SELECT certificate_id, status FROM certificates WHERE status <> 'ACTIVE'");
  const notActiveRows = db.prepare("SELECT * FROM certificates WHERE status <> 'ACTIVE' ORDER BY seq");
  const statuses = db.prepare('SELECT common_name AS commonName, status FROM certificates');

  const get = (id: string): CertificateRecord | undefined => {
    const row = byId.get(id) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  };
  return {
    register(certificate, now) {
      const id = certificateIdOfDer(certificate.raw);
      insert.run(
        id,
        commonNameOf(certificate),
        certificate.toString(),
        Date.parse(certificate.validFrom),
        Date.parse(certificate.validTo),
        now,
        now,
      );
      const stored = get(id);
      if (stored === undefined) throw new Error(`certificate ${id} vanished after insert`);
      return stored;
    },
    get,
    byCommonName: (cn) => (byCn.all(cn) as Row[]).map(toRecord),
    page({ afterSeq, limit, ascending }) {
      const rows = ascending ? after.all(afterSeq ?? 0, limit) : before.all(afterSeq ?? Number.MAX_SAFE_INTEGER, limit);
      return (rows as Row[]).map(toRecord);
    },
    setStatus(id, status, now) {
      update.run(status, now, id);
    },
    inactive: () =>
      new Map(
        (notActive.all() as { certificate_id: string; status: CertificateStatus }[]).map((r) => [
          r.certificate_id,
          r.status,
        ]),
      ),
    notActiveRecords: () => (notActiveRows.all() as Row[]).map(toRecord),
    statusesByCommonName: () => statuses.all() as { commonName: string; status: CertificateStatus }[],
    changeCounter: () => db.pragma('data_version', { simple: true }) as number,
  };
}
