// Worker threads run the simulator from its TypeScript sources: register tsx in this thread, then load the worker.
import { register } from 'tsx/esm/api';

// A plain .mjs outside every tsconfig, so the linter cannot see tsx's types; register() takes no arguments here.
// eslint-disable-next-line @typescript-eslint/no-unsafe-call
register();
// After tsx, so it loads the TypeScript sources without tsx's per-closure names (plain-names-hooks.mjs says why).
await import('./plain-names.mjs');
await import('./worker.ts');
