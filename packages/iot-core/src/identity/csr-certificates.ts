// tsyringe, used inside @peculiar/x509, needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AwsServiceError } from '../aws-error.js';
import type { CertificateAuthority } from './ca.js';
import type { CertificateArnScope, CertificateRegistry } from './certificate-registry.js';
import { PRIVILEGED_OU, isValidThingName } from './principal.js';

const crypto = webcrypto;
const DAY_MS = 86_400_000;
const DEVICE_VALIDITY_DAYS = 825;
/** AWS accepts CSRs for RSA keys of 2048 bits and more and for ECDSA P-256 / P-384 keys. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1']);
const MIN_RSA_BITS = 2048;
const MAX_CSR_CHARS = 16 * 1024;

/** CreateCertificateFromCsr's answer, as AWS shapes it. */
export interface CreatedCertificate {
  readonly certificateArn: string;
  readonly certificateId: string;
  readonly certificatePem: string;
}

export interface CsrCertificateIssuer {
  /**
   * AWS IoT's CreateCertificateFromCsr: the local CA signs the request's public key (the private key stays with
   * whoever made the request). The certificate is ACTIVE only when `setAsActive` (AWS's default is INACTIVE).
   * See https://docs.aws.amazon.com/iot/latest/apireference/API_CreateCertificateFromCsr.html
   */
  createCertificateFromCsr(input: {
    readonly certificateSigningRequest: string;
    readonly setAsActive?: boolean;
  }): Promise<CreatedCertificate>;
}

const invalid = (message: string): AwsServiceError => new AwsServiceError('InvalidRequestException', 400, message);

function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  if (pem.length > MAX_CSR_CHARS) throw invalid(`certificateSigningRequest is longer than ${MAX_CSR_CHARS} characters`);
  try {
    return new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw invalid('certificateSigningRequest is not a PEM-encoded PKCS#10 certificate signing request');
  }
}

function checkKey(csr: x509.Pkcs10CertificateRequest): void {
  const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails;
  const ok =
    (key.asymmetricKeyType === 'ec' && EC_CURVES.has(details?.namedCurve ?? '')) ||
    (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= MIN_RSA_BITS);
  if (!ok)
    throw invalid(
      `The CSR's key is not supported: use an RSA key of at least ${MIN_RSA_BITS} bits or an EC P-256 or P-384 key`,
    );
}

/**
 * The thing the certificate will name. The local core's broker maps a certificate to its thing by the subject CN
 * (see principal.ts), so the CSR must carry exactly one CN that is a valid thing name, and never the OU that marks
 * privileged service certificates (a device must not be able to ask for one).
 */
function thingNameOf(csr: x509.Pkcs10CertificateRequest): string {
  if (csr.subjectName.getField('OU').includes(PRIVILEGED_OU))
    throw invalid(`The CSR's subject may not carry the organizational unit ${PRIVILEGED_OU}`);
  const names = csr.subjectName.getField('CN');
  const cn = names.length === 1 ? names[0] : undefined;
  if (cn === undefined || !isValidThingName(cn))
    throw invalid(
      "The CSR's subject must have one common name (CN) that is the thing name (1-128 characters of a-z, A-Z, 0-9, ':', '_' and '-')",
    );
  return cn;
}

const serialNumber = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
};

export function createCsrCertificateIssuer(
  ca: CertificateAuthority,
  certificates: CertificateRegistry,
  scope: CertificateArnScope,
): CsrCertificateIssuer {
  return {
    async createCertificateFromCsr({ certificateSigningRequest, setAsActive }) {
      const csr = parseCsr(certificateSigningRequest);
      if (!(await csr.verify(crypto).catch(() => false)))
        throw invalid("The CSR's signature does not verify with its own public key");
      checkKey(csr);
      const thingName = thingNameOf(csr);
      // Back-dated a minute, as the CA's other leaf certificates, for peers whose clock is slightly behind.
      const notBefore = new Date(Date.now() - 60_000);
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serialNumber(),
          subject: `CN=${thingName}`,
          issuer: ca.cert.subject,
          notBefore,
          notAfter: new Date(notBefore.getTime() + DEVICE_VALIDITY_DAYS * DAY_MS),
          publicKey: csr.publicKey,
          signingKey: ca.signingKey,
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
            await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, crypto),
            await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
          ],
        },
        crypto,
      );
      const certificatePem = cert.toString('pem');
      const { certificateId } = certificates.register(certificatePem);
      if (setAsActive !== true) certificates.updateCertificate({ certificateId, newStatus: 'INACTIVE' });
      return {
        certificateArn: `arn:aws:iot:${scope.region}:${scope.accountId}:cert/${certificateId}`,
        certificateId,
        certificatePem,
      };
    },
  };
}
