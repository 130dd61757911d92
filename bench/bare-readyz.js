// The baseline for start-up time and memory in bench/scale.ts: a bare node:http process that answers
// /readyz, started the same way as Latchkey (`node <file>`, plain JavaScript, no dependencies), so the
// ratios show what Latchkey adds over Node itself on the same machine at the same moment.
import http from 'node:http';

const server = http.createServer((request, response) => {
  const ready = request.url === '/readyz';
  response.writeHead(ready ? 200 : 404, { 'content-type': 'text/plain' }).end(ready ? 'ok' : '');
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
