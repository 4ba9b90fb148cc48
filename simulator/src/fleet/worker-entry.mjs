// Worker threads run the simulator from its TypeScript sources: register tsx in this thread, then load the worker.
import { register } from 'tsx/esm/api';

// A plain .mjs outside every tsconfig, so the linter cannot see tsx's types; register() takes no arguments here.
// eslint-disable-next-line @typescript-eslint/no-unsafe-call
register();
await import('./worker.ts');
