// tsyringe, used inside @peculiar/x509, needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { IdentityError } from './identity-error.js';
import { PRIVILEGED_OU, isValidServiceName, isValidThingName, serviceCommonName } from './principal.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const crypto = webcrypto;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface CertificateAuthority {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
}

/** A certificate with its private key, both PEM (key in SEC1 `EC PRIVATE KEY` form, read by OpenSSL, s2n and node). */
export interface IssuedCredential {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CreatedCertificateAuthority extends CertificateAuthority, IssuedCredential {}

export interface IssueOptions {
  /** Default 825 days for leaf certificates. */
  readonly validityDays?: number;
}

const serialNumber = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
};

const validity = (days: number): { notBefore: Date; notAfter: Date } => {
  // Back-dated a minute so a freshly issued certificate is valid on a peer whose clock is slightly behind.
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
};

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

async function toSec1Pem(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'sec1' })
    .toString();
}

/** A new CA: EC P-256 key and a self-signed certificate (default 10 years). */
export async function createCertificateAuthority(
  options: { readonly commonName?: string; readonly validityDays?: number } = {},
): Promise<CreatedCertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=${options.commonName ?? 'otafleet local IoT CA'}, O=otafleet`,
      ...validity(options.validityDays ?? 3650),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert, certPem: cert.toString('pem'), signingKey: keys.privateKey, keyPem: await toSec1Pem(keys.privateKey) };
}

/** Loads a CA from its PEM certificate and PEM private key (SEC1 or PKCS#8). */
export async function loadCertificateAuthority(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new IdentityError('CaKeyUnsupported', 'The CA key must be an EC P-256 key. Create a new CA with `ca init`.');
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const signingKey = await crypto.subtle.importKey('pkcs8', pkcs8, EC_P256, false, ['sign']);
  const cert = new x509.X509Certificate(certPem);
  return { cert, certPem: cert.toString('pem'), signingKey };
}

interface LeafProfile {
  readonly subject: string;
  readonly extendedKeyUsage: readonly x509.ExtendedKeyUsage[];
  readonly altNames?: x509.JsonGeneralNames;
}

async function issueLeaf(
  ca: CertificateAuthority,
  profile: LeafProfile,
  options: IssueOptions,
): Promise<IssuedCredential> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([...profile.extendedKeyUsage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
  ];
  if (profile.altNames !== undefined) extensions.push(new x509.SubjectAlternativeNameExtension(profile.altNames));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: profile.subject,
      issuer: ca.cert.subject,
      ...validity(options.validityDays ?? 825),
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: SIGNING,
      extensions,
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await toSec1Pem(keys.privateKey) };
}

/** A device certificate: CN = thing name, which is how the broker maps the connection to its thing. */
export async function issueDeviceCertificate(
  ca: CertificateAuthority,
  thingName: string,
  options: IssueOptions = {},
): Promise<IssuedCredential> {
  if (!isValidThingName(thingName))
    throw new IdentityError(
      'InvalidThingName',
      `Invalid thing name "${thingName}": use 1-128 characters of a-z, A-Z, 0-9, ':', '_' and '-'.`,
    );
  return issueLeaf(ca, { subject: `CN=${thingName}`, extendedKeyUsage: [x509.ExtendedKeyUsage.clientAuth] }, options);
}

/** A privileged service certificate: CN `svc.<name>` and OU PRIVILEGED_OU, which the broker lets reach every topic. */
export async function issueServiceCertificate(
  ca: CertificateAuthority,
  serviceName: string,
  options: IssueOptions = {},
): Promise<IssuedCredential> {
  if (!isValidServiceName(serviceName))
    throw new IdentityError(
      'InvalidServiceName',
      `Invalid service name "${serviceName}": use 1-64 characters of a-z, A-Z, 0-9, '_' and '-'.`,
    );
  return issueLeaf(
    ca,
    {
      subject: `CN=${serviceCommonName(serviceName)}, OU=${PRIVILEGED_OU}`,
      extendedKeyUsage: [x509.ExtendedKeyUsage.clientAuth],
    },
    options,
  );
}

const HOST_NAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/** A TLS server certificate for the broker; SANs default to localhost, 127.0.0.1 and ::1. */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: IssueOptions & { readonly hosts?: readonly string[] } = {},
): Promise<IssuedCredential> {
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const altNames: x509.JsonGeneralNames = hosts.map((host) => {
    if (isIP(host) !== 0) return { type: 'ip', value: host };
    if (HOST_NAME.test(host)) return { type: 'dns', value: host };
    throw new IdentityError('InvalidHost', `Invalid server host "${host}": give a DNS name or an IP address.`);
  });
  if (altNames.length === 0)
    throw new IdentityError('InvalidHost', 'Give at least one host for the server certificate.');
  return issueLeaf(
    ca,
    { subject: `CN=${hosts[0] ?? 'localhost'}`, extendedKeyUsage: [x509.ExtendedKeyUsage.serverAuth], altNames },
    options,
  );
}

/** True when `certPem` carries a valid signature by the CA in `caCertPem` and names it as issuer. */
export async function isIssuedBy(certPem: string, caCertPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caCertPem);
  if (cert.issuer !== ca.subject) return false;
  return cert.verify({ publicKey: ca.publicKey, signatureOnly: true }, crypto);
}
