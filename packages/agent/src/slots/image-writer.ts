import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { SlotError } from './errors.js';
import type { ImageInstallSource } from './types.js';

const CHUNK_BYTES = 1024 * 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Writes a verified image to a slot's partition (or the regular file standing in for one), fsyncs it, and
 * reads it back: the bytes on the device must hash to what was read from the source, and to the source's
 * declared SHA-256 when given (so a source file changed after verification is caught too). The device is
 * opened without O_CREAT or O_TRUNC: a wrong path fails instead of creating a file, and a partition keeps
 * its size. Larger-than-partition images fail with the kernel's ENOSPC.
 */
export async function writeImage(devicePath: string, source: ImageInstallSource): Promise<void> {
  if (!Number.isSafeInteger(source.size) || source.size < 0) {
    throw new SlotError('SLOT_INVALID_ARGUMENT', `image size must be a non-negative integer, got ${source.size}`);
  }
  if (source.sha256 !== undefined && !SHA256_HEX.test(source.sha256)) {
    throw new SlotError('SLOT_INVALID_ARGUMENT', 'image sha256 must be 64 lowercase hex digits');
  }
  const input = await open(source.path, 'r');
  const written = createHash('sha256');
  try {
    const actual = (await input.stat()).size;
    if (actual !== source.size) {
      throw new SlotError('SLOT_IMAGE_MISMATCH', `image ${source.path} is ${actual} bytes, expected ${source.size}`);
    }
    const device = await open(devicePath, constants.O_WRONLY);
    try {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      let position = 0;
      while (position < source.size) {
        const { bytesRead } = await input.read(buffer, 0, Math.min(CHUNK_BYTES, source.size - position), position);
        if (bytesRead === 0)
          throw new SlotError('SLOT_IMAGE_MISMATCH', `image ${source.path} shrank while being written`);
        const chunk = buffer.subarray(0, bytesRead);
        written.update(chunk);
        let done = 0;
        while (done < bytesRead)
          done += (await device.write(chunk, done, bytesRead - done, position + done)).bytesWritten;
        position += bytesRead;
      }
      await device.sync();
    } finally {
      await device.close();
    }
  } finally {
    await input.close();
  }
  const writtenSha = written.digest('hex');
  if (source.sha256 !== undefined && writtenSha !== source.sha256) {
    throw new SlotError('SLOT_IMAGE_MISMATCH', `image ${source.path} does not hash to its verified SHA-256`);
  }
  const readBack = await hashPrefix(devicePath, source.size);
  if (readBack !== writtenSha) {
    throw new SlotError('SLOT_IMAGE_MISMATCH', `${devicePath} does not read back what was written`);
  }
}

/** SHA-256 of the first `size` bytes of `path`. */
export async function hashPrefix(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    while (position < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, size - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
