// Sample application shipped in the http-service bundles. Its behaviour comes from app.json, written
// by build.ts per variant: "healthy", "unhealthy" (starts, /health answers 503) or "crash" (exits 1).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';

const app = JSON.parse(readFileSync(new URL('./app.json', import.meta.url), 'utf8'));

if (app.behavior === 'crash') {
  process.stderr.write(`http-service ${app.version}: simulated crash on start\n`);
  process.exit(1);
}

const server = createServer((req, res) => {
  if (req.url === '/health') {
    const healthy = app.behavior === 'healthy';
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: healthy ? 'ok' : 'failing', version: app.version }));
    return;
  }
  if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`http-service ${app.version}\n`);
    return;
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ event: 'listening', port, version: app.version })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
