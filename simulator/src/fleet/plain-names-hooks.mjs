// Module load hook: TypeScript sources compiled by esbuild as tsc would emit them, without tsx's keepNames. tsx
// wraps every function in __name(fn, 'x') (Object.defineProperty of `name`), which gives each closure *instance*
// its own property array: ~24 kB per virtual device (90 closures), about a fifth of its heap. Node names
// `const f = () => ...` by itself; keepNames only matters to minified bundles. tsx still resolves the imports.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TS = /\.m?ts$/;

/**
 * @param {string} url
 * @param {object} context
 * @param {(url: string, context: object) => Promise<object>} next
 * @returns {Promise<object>}
 */
export async function load(url, context, next) {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the loader chain's next() is untyped here
  if (!url.startsWith('file:') || !TS.test(new URL(url).pathname)) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    sourcefile: path,
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
