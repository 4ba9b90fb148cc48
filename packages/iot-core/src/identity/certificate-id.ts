import { X509Certificate, createHash } from 'node:crypto';

/**
 * AWS IoT names a certificate by the SHA-256 of its DER encoding, as 64 lowercase hex digits (the last part of
 * its ARN). See https://docs.aws.amazon.com/iot/latest/apireference/API_Certificate.html
 */
export const CERTIFICATE_ID_PATTERN = '^[a-fA-F0-9]{64}$';
const CERTIFICATE_ID = new RegExp(CERTIFICATE_ID_PATTERN);

export const isCertificateId = (value: string): boolean => CERTIFICATE_ID.test(value);

export function certificateIdOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** The id of a PEM certificate (throws on text that is not one). */
export function certificateIdOfPem(pem: string): string {
  return certificateIdOfDer(new X509Certificate(pem).raw);
}
