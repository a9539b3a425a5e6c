// The floor: node:http in, undici Pool out, no authentication, headers passed through.
import { createServer } from 'node:http'
import { bareForward } from './bare-forward.mjs'

const forward = bareForward(process.env.BENCH_UPSTREAM)
const server = createServer((req, res) => forward(req, res, req.url))
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
