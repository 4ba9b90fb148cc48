// tsyringe, used inside @peculiar/x509, needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A device's CSR as the service checks it before any AWS call: parsed, self-signed, naming the thing. */
export type CsrCheck =
  | { readonly ok: true; readonly sha256: string }
  | { readonly ok: false; readonly code: 'INVALID_CSR' | 'CSR_SUBJECT_MISMATCH'; readonly message: string };

/**
 * The CSR must carry the thing name as its subject CN: AWS signs the subject as given, and the local core (like
 * a policy keyed on the certificate's subject) maps a connection to its thing by that CN.
 */
export async function checkCsr(pem: string, thingName: string): Promise<CsrCheck> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    return { ok: false, code: 'INVALID_CSR', message: 'csr is not a PEM-encoded PKCS#10 certificate signing request' };
  }
  if (!(await csr.verify(webcrypto).catch(() => false)))
    return { ok: false, code: 'INVALID_CSR', message: "the CSR's signature does not verify with its own key" };
  const cn = csr.subjectName.getField('CN');
  if (cn.length !== 1 || cn[0] !== thingName)
    return {
      ok: false,
      code: 'CSR_SUBJECT_MISMATCH',
      message: `the CSR's subject CN must be the thing name ${thingName} (it is ${cn.length === 0 ? 'missing' : cn.join(', ')})`,
    };
  return { ok: true, sha256: createHash('sha256').update(Buffer.from(csr.rawData)).digest('hex') };
}

/** A new EC P-256 key (PKCS#8 PEM) and a CSR for it with subject CN = thing name. */
export async function generateKeyAndCsr(thingName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: `CN=${thingName}`, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
    webcrypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { keyPem, csrPem: csr.toString('pem') };
}
