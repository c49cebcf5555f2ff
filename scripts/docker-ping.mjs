// Exit 0 when the Docker Engine at $1 (unix:///path or tcp://host:port) answers /_ping, else 1. Node only, so
// the check works before any docker client is installed.
import http from 'node:http';

const target = process.argv[2] ?? '';
const opts = { path: '/_ping', method: 'GET', timeout: 1000 };
if (target.startsWith('unix://')) opts.socketPath = target.slice('unix://'.length);
else if (/^(tcp|http):\/\//.test(target)) {
  const u = new URL(target.replace(/^tcp:/, 'http:'));
  opts.host = u.hostname;
  opts.port = u.port;
} else process.exit(1);
const req = http.request(opts, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('error', () => process.exit(1));
req.on('timeout', () => {
  req.destroy();
  process.exit(1);
});
req.end();
