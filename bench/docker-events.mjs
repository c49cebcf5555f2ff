// What both burst controls do with Docker's event stream, and no more than every subscriber must: subscribe to
// container start/die on DOCKER_HOST, print `ready` once subscribed, split lines, parse JSON, and hand each event on
// with Date.now() taken as its line is cut. The stream's end ends the process; an error ends it with exit 1.
import http from 'node:http';

/** Follows the stream; `onEvent(event, receivedAt)` for each line that parses. `name` prefixes an error. */
export function followContainerEvents(name, onEvent) {
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
        let e;
        try {
          e = JSON.parse(line);
        } catch {
          continue; // not an event line
        }
        onEvent(e, at);
      }
    });
    res.on('end', () => process.exit(0));
  });
  req.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
}
