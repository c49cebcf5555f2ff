// The control for event latency: a bare subscriber of Docker's event stream, run as its own process with the
// agent's node flags. It does only what every subscriber must (read the stream, split lines, parse JSON) and prints
// `<id> <action> <Date.now() at receipt>` per container start/die, so that the agent's latency can be judged net of
// what the engine and the machine add before any agent code runs. Plain JavaScript: no loader between it and node.
import http from 'node:http';

const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
const target = host.startsWith('unix://')
  ? { socketPath: host.slice('unix://'.length) }
  : {
      host: new URL(host.replace(/^tcp:/, 'http:')).hostname,
      port: Number(new URL(host.replace(/^tcp:/, 'http:')).port),
    };
const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start', 'die'] }));
const req = http.get({ ...target, path: `/events?filters=${filters}` }, (res) => {
  process.stdout.write('ready\n');
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const at = Date.now();
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line);
        process.stdout.write(`${e.Actor?.ID ?? e.id} ${e.Action ?? e.status} ${at}\n`);
      } catch {
        // not an event line
      }
    }
  });
  res.on('end', () => process.exit(0));
});
req.on('error', (err) => {
  process.stderr.write(`bare subscriber: ${err.message}\n`);
  process.exit(1);
});
