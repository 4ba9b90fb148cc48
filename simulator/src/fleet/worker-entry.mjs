// Worker threads run the simulator from its TypeScript sources: register tsx in this thread, then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
