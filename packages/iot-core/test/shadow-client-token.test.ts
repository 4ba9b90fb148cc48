import { afterEach, describe, expect, it } from 'vitest';
import { shadowTopicPrefix, shadowValidators } from '@otafleet/protocol';
import type { ShadowInbox } from '@otafleet/iot-core/testing';
import { ShadowHarness } from '@otafleet/iot-core/testing';

/**
 * AWS puts the request's clientToken in every answer whenever one was sent, a rejected one included: a
 * device matching answers by token must still see why its request failed.
 */
let h: ShadowHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const TOO_LONG = 't'.repeat(65);
const MULTI_BYTE_TOO_LONG = 'é'.repeat(33); // 33 characters, 66 bytes

describe('a clientToken over 64 bytes, over real MQTT', () => {
  it.each([
    ['update', { state: { reported: { a: 1 } }, clientToken: TOO_LONG }, TOO_LONG],
    ['update', { state: { reported: { a: 1 } }, clientToken: MULTI_BYTE_TOO_LONG }, MULTI_BYTE_TOO_LONG],
    ['get', { clientToken: TOO_LONG }, TOO_LONG],
    ['delete', { clientToken: TOO_LONG }, TOO_LONG],
  ] as const)('%s is rejected 400 Invalid clientToken, answered with that clientToken', async (op, body, token) => {
    h = await ShadowHarness.start();
    const p = shadowTopicPrefix('tok-thing');
    const dev: ShadowInbox = await h.client(`tok-${op}`, [`${p}/+/+`]);
    await dev.client.publishAsync(`${p}/update`, JSON.stringify({ state: { reported: { seed: true } } }), { qos: 1 });
    await dev.next(`${p}/update/accepted`);

    const rejected = dev.next(`${p}/${op}/rejected`);
    await dev.client.publishAsync(`${p}/${op}`, JSON.stringify(body), { qos: 1 });
    const answer = await rejected;
    expect(answer).toMatchObject({ code: 400, message: 'Invalid clientToken', clientToken: token });
    expect(shadowValidators.errorResponse.check(answer)).toBe(true);

    // Nothing changed: the shadow is still the seeded one, version 1.
    const got = dev.next(`${p}/get/accepted`, (b) => b['clientToken'] === 'check');
    await dev.client.publishAsync(`${p}/get`, JSON.stringify({ clientToken: 'check' }), { qos: 1 });
    expect(await got).toMatchObject({ state: { reported: { seed: true } }, version: 1 });
  });

  it('a clientToken of exactly 64 bytes is accepted and echoed', async () => {
    h = await ShadowHarness.start();
    const p = shadowTopicPrefix('tok-edge');
    const dev = await h.client('tok-edge', [`${p}/+/+`]);
    const token = 'é'.repeat(32);
    const accepted = dev.next(`${p}/update/accepted`);
    await dev.client.publishAsync(`${p}/update`, JSON.stringify({ state: { desired: { x: 1 } }, clientToken: token }), {
      qos: 1,
    });
    expect(await accepted).toMatchObject({ clientToken: token, version: 1 });
  });
});
