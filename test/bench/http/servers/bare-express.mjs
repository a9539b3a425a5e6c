// The framework's floor: the bare proxy (./bare.mjs) mounted in Express, no authentication.
import express from 'express'
import { Pool } from 'undici'

const upstream = new URL(process.env.BENCH_UPSTREAM)
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1 })
const app = express()
app.disable('x-powered-by')
app.use('/engine-rest', (req, res) => {
  const headers = { ...req.headers }
  delete headers.host
  delete headers.connection
  delete headers.authorization
  pool.request({ path: req.originalUrl, method: req.method, headers }).then(
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
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
