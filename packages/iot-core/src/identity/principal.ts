import { isValidThingName, SERVICE_NAME } from '@otafleet/protocol';
/**
 * Who is on the other end of a certificate. As in AWS IoT, a device's thing name comes from its
 * certificate (the subject CN); privileged services are told apart by a subject OU that the local CA
 * only puts on service certificates.
 */

/** Subject OU carried only by privileged service certificates (fleet-service, the core's own clients). */
export const PRIVILEGED_OU = 'otafleet-privileged';

/** Prefix of a service certificate's CN. `.` never occurs in a thing name, so a service CN can never be a thing's. */
export const SERVICE_CN_PREFIX = 'svc.';

/** The core's own service identity (`svc.iot-core`): its client of an external broker, which also administers it. */
export const CORE_SERVICE_NAME = 'iot-core';

export { isValidThingName };

export function isValidServiceName(name: string): boolean {
  return SERVICE_NAME.test(name);
}

export type Principal =
  { readonly kind: 'thing'; readonly thingName: string } | { readonly kind: 'service'; readonly serviceName: string };

/** Subject fields as node:tls reports them (`getPeerCertificate().subject`). */
export interface CertificateSubject {
  readonly CN?: string | string[] | undefined;
  readonly OU?: string | string[] | undefined;
}

const single = (v: string | string[] | undefined): string | undefined =>
  typeof v === 'string' ? v : v?.length === 1 ? v[0] : undefined;

const includes = (v: string | string[] | undefined, wanted: string): boolean =>
  typeof v === 'string' ? v === wanted : (v ?? []).includes(wanted);

/** The principal named by a (CA-verified) certificate subject, or undefined when it names none we accept. */
export function principalFromSubject(subject: CertificateSubject): Principal | undefined {
  const cn = single(subject.CN);
  if (cn === undefined) return undefined;
  if (includes(subject.OU, PRIVILEGED_OU)) {
    if (!cn.startsWith(SERVICE_CN_PREFIX)) return undefined;
    const serviceName = cn.slice(SERVICE_CN_PREFIX.length);
    return isValidServiceName(serviceName) ? { kind: 'service', serviceName } : undefined;
  }
  return isValidThingName(cn) ? { kind: 'thing', thingName: cn } : undefined;
}

/** The CN a service certificate carries (also its Mosquitto user name). */
export function serviceCommonName(serviceName: string): string {
  return `${SERVICE_CN_PREFIX}${serviceName}`;
}
