import { readFileSync } from 'node:fs';
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const mods = process.argv.slice(2);
let last = rss();
const out = [`start ${last.toFixed(1)}`];
for (const m of mods) {
  await import(m);
  await new Promise((r) => setTimeout(r, 300));
  const now = rss();
  out.push(`${m} +${(now - last).toFixed(1)}`);
  last = now;
}
console.log(out.join('\n'), `\ntotal ${last.toFixed(1)}`);
