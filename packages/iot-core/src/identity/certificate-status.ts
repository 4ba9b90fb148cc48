/**
 * Certificate statuses as AWS IoT spells them. Only ACTIVE certificates authenticate; the local CA issues
 * certificates ACTIVE. PENDING_TRANSFER, PENDING_ACTIVATION and REGISTER_INACTIVE are AWS-internal or
 * deprecated: an UpdateCertificate to them is refused, as AWS refuses it.
 * See https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html
 */
export const CERTIFICATE_STATUSES = [
  'ACTIVE',
  'INACTIVE',
  'REVOKED',
  'PENDING_TRANSFER',
  'REGISTER_INACTIVE',
  'PENDING_ACTIVATION',
] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

/** The statuses a caller may set with UpdateCertificate. */
export const SETTABLE_CERTIFICATE_STATUSES: ReadonlySet<CertificateStatus> = new Set(['ACTIVE', 'INACTIVE', 'REVOKED']);

/** A revoked certificate stays revoked: a compromised key must never be trusted again. */
export const canChangeStatus = (from: CertificateStatus, to: CertificateStatus): boolean =>
  from !== 'REVOKED' || to === 'REVOKED';
