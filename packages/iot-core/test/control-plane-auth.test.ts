import { CreateThingCommand, ListThingsCommand, type IoTClient } from '@aws-sdk/client-iot';
import { GetThingShadowCommand, IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CREDENTIALS,
  REGION,
  startControlPlane,
  type ControlPlaneFixture,
  failure,
} from '../src/testing/control-plane-fixture.js';
import { signedFetch, signRequest } from '../src/testing/sigv4-fetch.js';

let cp: ControlPlaneFixture;
beforeEach(async () => {
  cp = await startControlPlane();
});
afterEach(async () => {
  await cp.close();
});

/** Removes the Authorization header after the SDK has signed, so the request reaches the server unsigned. */
type FinalizeNext = (args: { request: { headers: Record<string, string> } }) => Promise<unknown>;
const stripSignature = (client: IoTClient): void => {
  const strip =
    (next: FinalizeNext): FinalizeNext =>
    (args) => {
      delete args.request.headers.authorization;
      return next(args);
    };
  client.middlewareStack.addRelativeTo(strip as never, {
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
    name: 'stripSignature',
  });
};

describe('SigV4 authentication', () => {
  it('accepts a request signed with a configured key', async () => {
    await cp.iot.send(new CreateThingCommand({ thingName: 'ok' }));
    expect(cp.registry.getThing('ok')).toBeDefined();
  });

  it('verifies SDK signatures over paths and queries with reserved characters', async () => {
    // ':' in a label and '/', '#', '=', ',' in a query value are percent-encoded by the SDK and encoded
    // once more in the canonical request: a verifier that gets this wrong rejects these requests.
    await cp.iot.send(
      new CreateThingCommand({ thingName: 'site:lab_1-a', attributePayload: { attributes: { loc: 'a/b:c#d=e,f@g' } } }),
    );
    const listed = await cp.iot.send(new ListThingsCommand({ attributeName: 'loc', attributeValue: 'a/b:c#d=e,f@g' }));
    expect(listed.things?.map((t) => t.thingName)).toEqual(['site:lab_1-a']);
  });

  it('rejects an unsigned request with MissingAuthenticationTokenException (403) and changes nothing', async () => {
    const client = cp.iotClient(CREDENTIALS);
    stripSignature(client);
    const e = await failure(client.send(new CreateThingCommand({ thingName: 'unsigned' })));
    expect(e).toMatchObject({ name: 'MissingAuthenticationTokenException', status: 403 });
    expect(cp.registry.getThing('unsigned')).toBeUndefined();
    client.destroy();
  });

  it('rejects a wrong secret with InvalidSignatureException and AWS message', async () => {
    const client = cp.iotClient({ accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'wrong-secret' });
    const e = await failure(client.send(new CreateThingCommand({ thingName: 'forged' })));
    expect(e).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(e.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
    expect(cp.registry.getThing('forged')).toBeUndefined();
    client.destroy();
  });

  it('rejects an unknown access key with UnrecognizedClientException', async () => {
    const client = cp.iotClient({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: CREDENTIALS.secretAccessKey });
    const e = await failure(client.send(new CreateThingCommand({ thingName: 'stranger' })));
    expect(e).toMatchObject({ name: 'UnrecognizedClientException', status: 403 });
    expect(e.message).toBe('The security token included in the request is invalid.');
    expect(cp.registry.getThing('stranger')).toBeUndefined();
    client.destroy();
  });

  it('rejects a clock skewed by more than 15 minutes, both directions', async () => {
    const late = cp.iotClient(CREDENTIALS, { systemClockOffset: -20 * 60_000, maxAttempts: 1 });
    const e1 = await failure(late.send(new CreateThingCommand({ thingName: 'skewed' })));
    expect(e1).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(e1.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z/);
    const early = cp.iotClient(CREDENTIALS, { systemClockOffset: 20 * 60_000, maxAttempts: 1 });
    const e2 = await failure(early.send(new CreateThingCommand({ thingName: 'skewed' })));
    expect(e2.name).toBe('InvalidSignatureException');
    expect(e2.message).toMatch(/^Signature not yet current/);
    expect(cp.registry.getThing('skewed')).toBeUndefined();
    late.destroy();
    early.destroy();
  });

  it('lets the SDK correct its clock from the Date header, as against AWS', async () => {
    const client = cp.iotClient(CREDENTIALS, { systemClockOffset: -20 * 60_000, maxAttempts: 2 });
    await client.send(new CreateThingCommand({ thingName: 'corrected' }));
    expect(cp.registry.getThing('corrected')).toBeDefined();
    client.destroy();
  });

  it('accepts a skew within 15 minutes', async () => {
    const client = cp.iotClient(CREDENTIALS, { systemClockOffset: -10 * 60_000 });
    await client.send(new ListThingsCommand({}));
    client.destroy();
  });

  it('rejects data-plane calls signed for the wrong service or region', async () => {
    const wrongRegion = new IoTDataPlaneClient({
      endpoint: cp.endpoint,
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    const e = await failure(wrongRegion.send(new GetThingShadowCommand({ thingName: 'x' })));
    expect(e).toMatchObject({ name: 'InvalidSignatureException', status: 403 });
    expect(e.message).toContain("not 'eu-west-1'");
    wrongRegion.destroy();

    const asIot = await signedFetch(cp.endpoint, {
      method: 'GET',
      path: '/things/x/shadow',
      service: 'iot',
      credentials: CREDENTIALS,
    });
    expect(asIot.status).toBe(403);
    expect(asIot.errorType).toBe('InvalidSignatureException');
    expect(JSON.parse(asIot.body).message).toContain("'iotdata'");
  });

  it('rejects a body or query changed after signing', async () => {
    const headers = await signRequest(cp.endpoint, {
      method: 'POST',
      path: '/things/other',
      body: '{}',
      credentials: CREDENTIALS,
    });
    const res = await fetch(`${cp.endpoint}/things/other`, {
      method: 'POST',
      headers,
      body: '{"attributePayload":{"attributes":{"a":"1"}}}',
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(cp.registry.getThing('other')).toBeUndefined();

    const queryHeaders = await signRequest(cp.endpoint, {
      method: 'GET',
      path: '/things',
      query: { maxResults: '1' },
      credentials: CREDENTIALS,
    });
    const q = await fetch(`${cp.endpoint}/things?maxResults=2`, {
      headers: queryHeaders,
      signal: AbortSignal.timeout(5000),
    });
    expect(q.status).toBe(403);
    expect(q.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
  });

  it('rejects a malformed Authorization header with IncompleteSignatureException', async () => {
    const res = await fetch(`${cp.endpoint}/things`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST000001', 'x-amz-date': '20260101T000000Z' },
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
  });
});

describe('unknown operations', () => {
  it('answers a signed call to an unsupported operation with 404 UnknownOperationException naming method and path', async () => {
    const res = await signedFetch(cp.endpoint, { method: 'GET', path: '/certificates', credentials: CREDENTIALS });
    expect(res.status).toBe(404);
    expect(res.errorType).toBe('UnknownOperationException');
    expect(JSON.parse(res.body).message).toContain('GET /certificates');

    const wrongMethod = await signedFetch(cp.endpoint, {
      method: 'PUT', // PATCH is UpdateThing; no operation uses PUT on a thing
      path: '/things/dev-1',
      body: '{}',
      credentials: CREDENTIALS,
    });
    expect(wrongMethod.status).toBe(404);
    expect(JSON.parse(wrongMethod.body).message).toContain('PUT /things/dev-1');
  });

  it('still requires a signature on unknown paths', async () => {
    const res = await fetch(`${cp.endpoint}/certificates`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('the SDK surfaces it by name', async () => {
    const data = new IoTDataPlaneClient({
      endpoint: `${cp.endpoint}/nowhere`,
      region: REGION,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    const e = await failure(data.send(new GetThingShadowCommand({ thingName: 'x' })));
    expect(e).toMatchObject({ name: 'UnknownOperationException', status: 404 });
    data.destroy();
  });
});
