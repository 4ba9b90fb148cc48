import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GRUB_SLOT_SCRIPT, SLOT_ERROR_CODES, ubootEnvText } from '../src/slots/index.js';

const DOC = new URL('../../../docs/agent-slots.md', import.meta.url);

describe('docs/agent-slots.md shows the bootloader scripts as the code has them', () => {
  it('the GRUB script, the U-Boot environment and every error code appear verbatim', async () => {
    const doc = await readFile(DOC, 'utf8');
    expect(doc).toContain(GRUB_SLOT_SCRIPT);
    expect(doc).toContain(ubootEnvText());
    for (const code of SLOT_ERROR_CODES) expect(doc).toContain(`\`${code}\``);
  });
});
