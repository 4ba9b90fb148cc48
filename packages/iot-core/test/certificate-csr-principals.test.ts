/** CreateCertificateFromCsr and the thing-principal operations through the real AWS SDK against a local core. */
import 'reflect-metadata';
import {
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  DescribeCertificateCommand,
  DetachThingPrincipalCommand,
  ListPrincipalThingsCommand,
  ListThingPrincipalsCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTls, startTestCore, tryConnectTls, type TestCore } from '@otafleet/iot-core/testing';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A key pair and a CSR as a device makes them: the private key stays here. */
type KeyAlgorithm = webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams;

async function deviceCsr(subject: string, algorithm: KeyAlgorithm = EC) {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subject,
      keys,
      signingAlgorithm: algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : algorithm,
    },
    webcrypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { csrPem: csr.toString('pem'), keyPem };
}

const failure = async (p: Promise<unknown>): Promise<{ name: string; message: string }> => {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected the call to fail');
};

let t: TestCore;
let iot: IoTClient;
beforeAll(async () => {
  t = await startTestCore();
  iot = t.iotClient();
});
afterAll(async () => {
  await t?.stop();
});

describe('CreateCertificateFromCsr', () => {
  it('signs a device CSR with the local CA; the device connects with its own key once the certificate is ACTIVE', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'csr-1' }));
    const { csrPem, keyPem } = await deviceCsr('CN=csr-1');
    const created = await iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: csrPem }));
    expect(created.certificateId).toMatch(/^[0-9a-f]{64}$/);
    expect(created.certificateArn).toBe(`arn:aws:iot:us-east-1:123456789012:cert/${created.certificateId}`);
    const cert = new x509.X509Certificate(created.certificatePem ?? '');
    expect(cert.subject).toBe('CN=csr-1');
    // AWS's default: INACTIVE until asked otherwise; the broker refuses it.
    const described = await iot.send(new DescribeCertificateCommand({ certificateId: created.certificateId }));
    expect(described.certificateDescription?.status).toBe('INACTIVE');
    const options = {
      port: t.endpoints.mqttTls,
      clientId: 'csr-1',
      ca: t.pki.caPem,
      cert: created.certificatePem ?? '',
      key: keyPem,
    };
    expect((await tryConnectTls(options)).ok).toBe(false);

    const active = await deviceCsr('CN=csr-1');
    const second = await iot.send(
      new CreateCertificateFromCsrCommand({ certificateSigningRequest: active.csrPem, setAsActive: true }),
    );
    const client = await connectTls({ ...options, cert: second.certificatePem ?? '', key: active.keyPem });
    await client.endAsync(true);
  });

  it('accepts RSA 2048 keys', async () => {
    const { csrPem } = await deviceCsr('CN=csr-rsa', {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    });
    const created = await iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: csrPem }));
    expect(created.certificateId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses text that is no CSR, a CSR without a thing-name CN, and one asking for the privileged OU', async () => {
    const bad = (certificateSigningRequest: string) =>
      failure(iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest })));
    expect(await bad('not a csr')).toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('PKCS#10'),
    });
    expect(await bad((await deviceCsr('O=acme')).csrPem)).toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('common name'),
    });
    expect(await bad((await deviceCsr('CN=has space')).csrPem)).toMatchObject({ name: 'InvalidRequestException' });
    expect(await bad((await deviceCsr('CN=dev-9, OU=otafleet-privileged')).csrPem)).toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('otafleet-privileged'),
    });
  });
});

describe('thing principals', () => {
  it('attaches, lists (paged, both ways) and detaches a certificate; attaching twice is a no-op', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'p-1' }));
    const arns: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await iot.send(
        new CreateCertificateFromCsrCommand({ certificateSigningRequest: (await deviceCsr('CN=p-1')).csrPem }),
      );
      arns.push(created.certificateArn ?? '');
      await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-1', principal: created.certificateArn }));
    }
    await iot.send(new AttachThingPrincipalCommand({ thingName: 'p-1', principal: arns[0] }));
    const first = await iot.send(new ListThingPrincipalsCommand({ thingName: 'p-1', maxResults: 2 }));
    expect(first.principals).toHaveLength(2);
    const rest = await iot.send(
      new ListThingPrincipalsCommand({ thingName: 'p-1', maxResults: 2, nextToken: first.nextToken }),
    );
    expect([...(first.principals ?? []), ...(rest.principals ?? [])].sort()).toEqual([...arns].sort());
    expect(rest.nextToken).toBeUndefined();
    expect((await iot.send(new ListPrincipalThingsCommand({ principal: arns[1] }))).things).toEqual(['p-1']);

    await iot.send(new DetachThingPrincipalCommand({ thingName: 'p-1', principal: arns[1] }));
    expect((await iot.send(new ListThingPrincipalsCommand({ thingName: 'p-1' }))).principals?.sort()).toEqual(
      [arns[0], arns[2]].sort(),
    );
  });

  it("refuses an unknown thing or certificate, a principal that is no certificate ARN, and an exclusive one's second thing", async () => {
    await iot.send(new CreateThingCommand({ thingName: 'p-2' }));
    await iot.send(new CreateThingCommand({ thingName: 'p-3' }));
    const created = await iot.send(
      new CreateCertificateFromCsrCommand({ certificateSigningRequest: (await deviceCsr('CN=p-2')).csrPem }),
    );
    const arn = created.certificateArn ?? '';
    const attach = (thingName: string, principal: string, thingPrincipalType?: 'EXCLUSIVE_THING') =>
      failure(iot.send(new AttachThingPrincipalCommand({ thingName, principal, thingPrincipalType })));
    expect(await attach('nope', arn)).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await attach('p-2', arn.replace(/.{8}$/, '00000000'))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await attach('p-2', 'arn:aws:iam::123456789012:user/x')).toMatchObject({
      name: 'InvalidRequestException',
      message: expect.stringContaining('certificate ARN'),
    });
    await iot.send(
      new AttachThingPrincipalCommand({ thingName: 'p-2', principal: arn, thingPrincipalType: 'EXCLUSIVE_THING' }),
    );
    expect(await attach('p-3', arn)).toMatchObject({ name: 'ResourceAlreadyExistsException' });
    expect(await failure(iot.send(new ListThingPrincipalsCommand({ thingName: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(
      await failure(iot.send(new ListThingPrincipalsCommand({ thingName: 'p-2', nextToken: 'forged' }))),
    ).toMatchObject({ name: 'InvalidRequestException' });
    expect((await iot.send(new ListThingPrincipalsCommand({ thingName: 'p-3' }))).principals).toEqual([]);
  });
});
