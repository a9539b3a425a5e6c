// The floor: node:http in, undici Pool out, no authentication, headers passed through.
import { createServer } from 'node:http'
import { Pool } from 'undici'

const upstream = new URL(process.env.BENCH_UPSTREAM)
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1 })
const server = createServer((req, res) => {
  const headers = { ...req.headers }
  delete headers.host
  delete headers.connection
  delete headers.authorization
  pool.request({ path: req.url, method: req.method, headers }).then(
    (r) => {
      const out = {}
      for (const k in r.headers) if (k !== 'connection' && k !== 'keep-alive') out[k] = r.headers[k]
      res.writeHead(r.statusCode, out)
      r.body.pipe(res)
    },
    () => {
      res.writeHead(502)
      res.end()
    },
  )
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
