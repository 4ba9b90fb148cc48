import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBundlePreamble, MAX_BUNDLE_MANIFEST_BYTES, type BundleErrorCode } from '@otafleet/protocol';
import { BundleError, verifyBundleFile, verifyBundleStream, type VerifyBundleOptions } from '@otafleet/bundle';
import {
  buildAppBundle,
  firstPayloadOffset,
  inChunks,
  makeKey,
  patchByte,
  tempDir,
  trustEntry,
  trustOf,
  type TestKey,
} from './helpers.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const DEVICE = {
  hardware: 'rpi4',
  installed: { version: '1.0.0', securityVersion: 3 },
  agentVersion: '1.2.0',
} as const;

async function rejection(p: Promise<unknown>): Promise<BundleErrorCode> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BundleError) return e.code;
    throw e;
  }
  throw new Error('expected a BundleError, got success');
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let workDir: string;
beforeEach(async () => {
  dir = await tempDir();
  workDir = join(dir.path, 'work');
});
afterEach(async () => dir.cleanup());

describe.each(['ed25519', 'ecdsa-p256-sha256'] as const)('round trip with %s', (algorithm) => {
  it('builds, signs, verifies and writes the payload only to the work area', async () => {
    const key = makeKey(`k-${algorithm}`, algorithm);
    const file = await buildAppBundle(dir.path, key, join(dir.path, 'b.otab'));
    const v = await verifyBundleFile(file, { trust: trustOf(trustEntry(key)), now: NOW, policy: DEVICE, workDir });
    expect(v.manifest.version).toBe('1.1.0');
    expect(v.keyId).toBe(key.keyId);
    expect(v.algorithm).toBe(algorithm);
    const payload = v.payloads[0];
    expect(payload?.path?.startsWith(workDir)).toBe(true);
    expect((await stat(payload?.path ?? '')).size).toBe(payload?.size);
    expect(v.payloadDir?.startsWith(workDir)).toBe(true);
  });

  it('verifies the same bytes arriving in odd-sized chunks', async () => {
    const key = makeKey('k', algorithm);
    const file = await buildAppBundle(dir.path, key, join(dir.path, 'b.otab'));
    const bytes = await readFile(file);
    const v = await verifyBundleStream(inChunks(bytes, 7), { trust: trustOf(trustEntry(key)), now: NOW });
    expect(v.payloads[0]?.path).toBeNull();
  });
});

describe('rejections', () => {
  let key: TestKey;
  let file: string;
  let options: VerifyBundleOptions;
  beforeEach(async () => {
    key = makeKey('release-1', 'ecdsa-p256-sha256');
    file = await buildAppBundle(dir.path, key, join(dir.path, 'b.otab'));
    options = { trust: trustOf(trustEntry(key)), now: NOW, policy: DEVICE, workDir };
  });

  async function expectRejected(code: BundleErrorCode, opts: VerifyBundleOptions = options): Promise<void> {
    expect(await rejection(verifyBundleFile(file, opts))).toBe(code);
    // Nothing survives a rejection: the work area holds no payload.
    const left = await readdir(workDir).catch(() => []);
    expect(left).toEqual([]);
  }

  it('a tampered payload byte', async () => {
    await patchByte(file, (await firstPayloadOffset(file)) + 600);
    await expectRejected('BUNDLE_PAYLOAD_DIGEST_MISMATCH');
  });

  it('a tampered manifest byte', async () => {
    await patchByte(file, 16 + 40);
    await expectRejected('BUNDLE_SIGNATURE_INVALID');
  });

  it('a tampered signature byte', async () => {
    await patchByte(file, (await firstPayloadOffset(file)) - 9);
    await expectRejected('BUNDLE_SIGNATURE_INVALID');
  });

  it('a key the device does not know', async () => {
    await expectRejected('BUNDLE_KEY_UNKNOWN', {
      ...options,
      trust: trustOf(trustEntry(makeKey('other', 'ecdsa-p256-sha256'))),
    });
  });

  it('a revoked key', async () => {
    await expectRejected('BUNDLE_KEY_REVOKED', { ...options, trust: trustOf(trustEntry(key, { status: 'revoked' })) });
  });

  it('a key past its notAfter', async () => {
    const trust = trustOf(trustEntry(key, { notAfter: '2026-05-01T00:00:00Z' }));
    await expectRejected('BUNDLE_KEY_EXPIRED', { ...options, trust });
  });

  it('a key id the device pins to another algorithm', async () => {
    const impostor = makeKey('release-1', 'ed25519');
    await expectRejected('BUNDLE_KEY_ALGORITHM_MISMATCH', { ...options, trust: trustOf(trustEntry(impostor)) });
  });

  it('a same-id key of the right algorithm but different key material', async () => {
    await expectRejected('BUNDLE_SIGNATURE_INVALID', {
      ...options,
      trust: trustOf(trustEntry(makeKey('release-1', 'ecdsa-p256-sha256'))),
    });
  });

  it('a truncated file, at every region', async () => {
    const bytes = await readFile(file);
    const payloadAt = await firstPayloadOffset(file);
    for (const cut of [0, 10, 200, payloadAt - 20, payloadAt - 3, payloadAt + 100, bytes.byteLength - 1]) {
      await writeFile(file, bytes.subarray(0, cut));
      await expectRejected('BUNDLE_TRUNCATED');
    }
  });

  it('a payload framed larger than declared is refused before it is read', async () => {
    const bytes = await readFile(file);
    const at = (await firstPayloadOffset(file)) - 8;
    const size = Number(bytes.readBigUInt64BE(at));
    bytes.writeBigUInt64BE(BigInt(size + 1), at);
    await writeFile(file, Buffer.concat([bytes, Buffer.from([0])]));
    await expectRejected('BUNDLE_PAYLOAD_TOO_LARGE');
  });

  it('a payload framed smaller than declared', async () => {
    const bytes = await readFile(file);
    const at = (await firstPayloadOffset(file)) - 8;
    bytes.writeBigUInt64BE(bytes.readBigUInt64BE(at) - 1n, at);
    await writeFile(file, bytes);
    await expectRejected('BUNDLE_PAYLOAD_SIZE_MISMATCH');
  });

  it('bytes after the last payload', async () => {
    await writeFile(file, Buffer.concat([await readFile(file), Buffer.from('x')]));
    await expectRejected('BUNDLE_TRAILING_DATA');
  });

  it('an expired manifest', async () => {
    await expectRejected('BUNDLE_EXPIRED', { ...options, now: new Date('2099-01-01T00:00:00Z') });
  });

  it('a manifest created in the device future', async () => {
    await expectRejected('BUNDLE_NOT_YET_VALID', { ...options, now: new Date('2025-12-31T00:00:00Z') });
  });

  it('the wrong hardware', async () => {
    await expectRejected('BUNDLE_HARDWARE_MISMATCH', { ...options, policy: { ...DEVICE, hardware: 'x86-gateway' } });
  });

  it('an older or equal version than installed', async () => {
    for (const version of ['1.1.0', '1.2.0', '2.0.0-rc.1']) {
      await expectRejected('BUNDLE_DOWNGRADE', {
        ...options,
        policy: { ...DEVICE, installed: { version, securityVersion: 0 } },
      });
    }
  });

  it('a lower security version than installed, even when downgrades are allowed', async () => {
    await expectRejected('BUNDLE_SECURITY_VERSION_ROLLBACK', {
      ...options,
      policy: { ...DEVICE, installed: { version: '0.9.0', securityVersion: 4 }, allowDowngrade: true },
    });
  });

  it('an agent older than minAgentVersion', async () => {
    await expectRejected('BUNDLE_AGENT_TOO_OLD', { ...options, policy: { ...DEVICE, agentVersion: '0.9.9' } });
  });

  it('a manifest length over the cap, before reading it', async () => {
    const bytes = await readFile(file);
    Buffer.from(encodeBundlePreamble(MAX_BUNDLE_MANIFEST_BYTES + 1)).copy(bytes, 0);
    await writeFile(file, bytes);
    await expectRejected('BUNDLE_MANIFEST_TOO_LARGE');
  });

  it('a file that is not a bundle', async () => {
    await writeFile(file, Buffer.from('PK\x03\x04 this is a zip, not a bundle'));
    await expectRejected('BUNDLE_BAD_MAGIC');
  });

  it('an unsupported format version', async () => {
    await patchByte(file, 9, 0x02);
    await expectRejected('BUNDLE_UNSUPPORTED_FORMAT');
  });

  it('an unsigned bundle', async () => {
    const unsigned = await buildAppBundle(dir.path, null, join(dir.path, 'unsigned.otab'));
    expect(await rejection(verifyBundleFile(unsigned, options))).toBe('BUNDLE_UNSIGNED');
  });

  it('a missing file is an I/O error, not a crash', async () => {
    expect(await rejection(verifyBundleFile(join(dir.path, 'nope.otab'), options))).toBe('BUNDLE_IO_ERROR');
  });

  it('accepts a downgrade only when allowed and the security version holds', async () => {
    const v = await verifyBundleFile(file, {
      ...options,
      policy: { ...DEVICE, installed: { version: '2.0.0', securityVersion: 3 }, allowDowngrade: true },
    });
    expect(v.manifest.securityVersion).toBe(3);
  });
});
