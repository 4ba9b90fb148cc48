import {
  AddThingToThingGroupCommand,
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  UpdateThingCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import type { Logger } from 'pino';
import { checkCsr, generateKeyAndCsr } from './device-keys.js';
import type { DeviceIndex } from './device-index.js';
import { iotFailure, isIotError } from './iot-errors.js';

/** How the device gets its certificate. */
export type CertificateRequest =
  /** The device made a key pair and sends a CSR: AWS signs it and the private key never leaves the device. */
  | { readonly kind: 'csr'; readonly csr: string }
  /** The service makes the key pair and a CSR for it, has AWS sign it and returns the private key once. */
  | { readonly kind: 'generate' }
  /** A certificate already registered with AWS IoT (e.g. from the device maker's CA). */
  | { readonly kind: 'existing'; readonly certificateArn: string }
  /** No certificate now (attach one later). */
  | { readonly kind: 'none' };

export interface EnrolRequest {
  readonly thingName: string;
  readonly thingTypeName?: string;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly groups?: readonly string[];
  /** Create a missing static group instead of refusing the device. */
  readonly createGroups?: boolean;
  readonly certificate: CertificateRequest;
}

export type EnrolResult =
  | {
      readonly ok: true;
      readonly thingName: string;
      /** false: the thing already existed (enrolment is idempotent). */
      readonly created: boolean;
      readonly thingArn: string | undefined;
      readonly groups: readonly string[];
      readonly certificateId?: string;
      readonly certificateArn?: string;
      readonly certificatePem?: string;
      /** Only for `generate`, only in this answer: the service keeps no copy. */
      readonly privateKeyPem?: string;
    }
  | {
      readonly ok: false;
      readonly thingName: string;
      /** The step that failed; the steps before it are done (enrolling again finishes the job). */
      readonly step: 'validate' | 'thing' | 'group' | 'certificate' | 'attach';
      readonly status: number;
      readonly code: string;
      readonly message: string;
    };

export interface EnrolmentDeps {
  readonly iot: IoTClient;
  readonly index: DeviceIndex;
  /** Attached to each new certificate (AttachPolicy) where the IoT endpoint has policies; absent: none. */
  readonly policyName?: string;
  readonly now: () => number;
  readonly logger: Logger;
}

export interface Enrolment {
  enrol(request: EnrolRequest, actor: string): Promise<EnrolResult>;
  /** Many at once, at most `concurrency` in flight; results in request order. */
  enrolMany(requests: readonly EnrolRequest[], actor: string, concurrency?: number): Promise<EnrolResult[]>;
}

const CERT_ARN = /^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:cert\/([a-fA-F0-9]{64})$/;
export const DEFAULT_ENROL_CONCURRENCY = 8;

type Failure = Extract<EnrolResult, { ok: false }>;
class StepFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

export function createEnrolment(deps: EnrolmentDeps): Enrolment {
  const { iot } = deps;

  const step = async <T>(thingName: string, name: Failure['step'], what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      if (e instanceof StepFailed) throw e;
      const known = iotFailure(e, what);
      if (known === undefined) throw e;
      throw new StepFailed({ ok: false, thingName, step: name, ...known });
    }
  };
  const refuse = (thingName: string, stepName: Failure['step'], status: number, code: string, message: string) =>
    new StepFailed({ ok: false, thingName, step: stepName, status, code, message });

  async function ensureThing(r: EnrolRequest): Promise<{ created: boolean; thingArn: string | undefined }> {
    const attributePayload = r.attributes === undefined ? undefined : { attributes: { ...r.attributes }, merge: true };
    // CreateThing succeeds for an existing thing with the same attributes, so it cannot say which it was.
    const existing = await iot.send(new DescribeThingCommand({ thingName: r.thingName })).then(
      (d) => d,
      (e: unknown) => {
        if (isIotError(e, 'ResourceNotFoundException')) return undefined;
        throw e;
      },
    );
    if (existing !== undefined) {
      if (attributePayload !== undefined)
        await iot.send(new UpdateThingCommand({ thingName: r.thingName, attributePayload }));
      return { created: false, thingArn: existing.thingArn };
    }
    const out = await iot.send(
      new CreateThingCommand({
        thingName: r.thingName,
        ...(r.thingTypeName === undefined ? {} : { thingTypeName: r.thingTypeName }),
        ...(attributePayload === undefined ? {} : { attributePayload }),
      }),
    );
    return { created: true, thingArn: out.thingArn };
  }

  async function joinGroup(thingName: string, group: string, createGroups: boolean): Promise<void> {
    try {
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: group, thingName }));
    } catch (e) {
      if (!isIotError(e, 'ResourceNotFoundException')) throw e;
      if (!createGroups)
        throw refuse(
          thingName,
          'group',
          422,
          'GROUP_NOT_FOUND',
          `thing group ${group} does not exist (set createGroups to create it)`,
        );
      try {
        await iot.send(new CreateThingGroupCommand({ thingGroupName: group }));
      } catch (c) {
        if (!isIotError(c, 'ResourceAlreadyExistsException')) throw c; // another enrolment made it meanwhile
      }
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: group, thingName }));
    }
  }

  async function enrolOne(r: EnrolRequest, actor: string): Promise<EnrolResult> {
    const { thingName } = r;
    // Everything that can be checked without AWS is, so a bad request changes nothing.
    let csrPem: string | undefined;
    let csrSha256: string | undefined;
    let privateKeyPem: string | undefined;
    if (r.certificate.kind === 'csr') {
      const check = await checkCsr(r.certificate.csr, thingName);
      if (!check.ok) throw refuse(thingName, 'validate', 400, check.code, check.message);
      csrPem = r.certificate.csr;
      csrSha256 = check.sha256;
    }
    let existingId: string | undefined;
    if (r.certificate.kind === 'existing') {
      existingId = CERT_ARN.exec(r.certificate.certificateArn)?.[1]?.toLowerCase();
      if (existingId === undefined)
        throw refuse(
          thingName,
          'validate',
          400,
          'INVALID_CERTIFICATE_ARN',
          `certificateArn is not an AWS IoT certificate ARN: ${r.certificate.certificateArn}`,
        );
      const id = existingId;
      await step(thingName, 'validate', `certificate ${r.certificate.certificateArn}`, () =>
        iot.send(new DescribeCertificateCommand({ certificateId: id })),
      );
    }

    if (r.createGroups !== true)
      for (const group of r.groups ?? []) {
        const exists = await iot.send(new DescribeThingGroupCommand({ thingGroupName: group })).then(
          () => true,
          (e: unknown) => {
            if (isIotError(e, 'ResourceNotFoundException')) return false;
            throw e;
          },
        );
        if (!exists)
          throw refuse(
            thingName,
            'validate',
            422,
            'GROUP_NOT_FOUND',
            `thing group ${group} does not exist (set createGroups to create it)`,
          );
      }

    const thing = await step(thingName, 'thing', `thing ${thingName}`, () => ensureThing(r));
    const groups = r.groups ?? [];
    for (const group of groups)
      await step(thingName, 'group', `thing group ${group}`, () =>
        joinGroup(thingName, group, r.createGroups === true),
      );

    const before = deps.index.get(thingName, { now: deps.now(), onlineWindowMs: 0 });
    let cert: { certificateId: string; certificateArn: string; certificatePem?: string } | undefined;
    if (r.certificate.kind === 'existing' && existingId !== undefined) {
      cert = { certificateId: existingId, certificateArn: r.certificate.certificateArn };
    } else if (
      csrSha256 !== undefined &&
      before?.csrSha256 === csrSha256 &&
      before.certificateId !== undefined &&
      before.certificateArn !== undefined
    ) {
      // The same CSR again (a retried bulk file): the certificate made from it the first time.
      const id = before.certificateId;
      const described = await step(thingName, 'certificate', 'certificate', () =>
        iot.send(new DescribeCertificateCommand({ certificateId: id })),
      );
      cert = {
        certificateId: id,
        certificateArn: before.certificateArn,
        certificatePem: described.certificateDescription?.certificatePem ?? '',
      };
    } else if (r.certificate.kind === 'csr' || r.certificate.kind === 'generate') {
      if (r.certificate.kind === 'generate') {
        const made = await generateKeyAndCsr(thingName);
        csrPem = made.csrPem;
        privateKeyPem = made.keyPem;
      }
      const csr = csrPem ?? '';
      const out = await step(thingName, 'certificate', 'CreateCertificateFromCsr', () =>
        iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: csr, setAsActive: true })),
      );
      cert = {
        certificateId: out.certificateId ?? '',
        certificateArn: out.certificateArn ?? '',
        certificatePem: out.certificatePem ?? '',
      };
    }
    if (cert !== undefined) {
      const principal = cert.certificateArn;
      await step(thingName, 'attach', 'AttachThingPrincipal', () =>
        iot.send(new AttachThingPrincipalCommand({ thingName, principal })),
      );
      const policyName = deps.policyName;
      if (policyName !== undefined)
        await step(thingName, 'attach', `AttachPolicy ${policyName}`, () =>
          iot.send(new AttachPolicyCommand({ policyName, target: principal })),
        );
    }

    deps.index.put({
      thingName,
      thingTypeName: r.thingTypeName ?? before?.thingTypeName,
      attributes: { ...before?.attributes, ...r.attributes },
      groups: [...new Set([...(before?.groups ?? []), ...groups])],
      certificateId: cert?.certificateId,
      certificateArn: cert?.certificateArn,
      csrSha256: r.certificate.kind === 'csr' ? csrSha256 : undefined,
      enrolledAt: before?.enrolledAt ?? deps.now(),
      enrolledBy: before?.enrolledBy ?? actor,
    });
    deps.logger.info(
      { thingName, created: thing.created, certificateId: cert?.certificateId, actor },
      'device enrolled',
    );
    return {
      ok: true,
      thingName,
      created: thing.created,
      thingArn: thing.thingArn,
      groups,
      ...(cert === undefined
        ? {}
        : {
            certificateId: cert.certificateId,
            certificateArn: cert.certificateArn,
            ...(cert.certificatePem === undefined ? {} : { certificatePem: cert.certificatePem }),
          }),
      ...(privateKeyPem === undefined ? {} : { privateKeyPem }),
    };
  }

  const enrol = async (request: EnrolRequest, actor: string): Promise<EnrolResult> => {
    try {
      return await enrolOne(request, actor);
    } catch (e) {
      if (e instanceof StepFailed) return e.failure;
      throw e;
    }
  };

  return {
    enrol,
    async enrolMany(requests, actor, concurrency = DEFAULT_ENROL_CONCURRENCY) {
      const results: EnrolResult[] = new Array<EnrolResult>(requests.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < requests.length) {
          const i = next++;
          const request = requests[i];
          if (request === undefined) continue;
          try {
            results[i] = await enrol(request, actor);
          } catch (e) {
            // An unexpected failure (network, a bug) fails this device, not the whole batch.
            deps.logger.error({ err: e, thingName: request.thingName }, 'enrolment failed');
            results[i] = {
              ok: false,
              thingName: request.thingName,
              step: 'thing',
              status: 502,
              code: 'IOT_UNAVAILABLE',
              message: e instanceof Error ? e.message : String(e),
            };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
      return results;
    },
  };
}
