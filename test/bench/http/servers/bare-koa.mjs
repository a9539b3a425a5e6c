// The framework's floor: the bare proxy (./bare.mjs) as Koa middleware, no authentication.
import Koa from 'koa'
import { Pool } from 'undici'

const upstream = new URL(process.env.BENCH_UPSTREAM)
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1 })
const app = new Koa()
app.use(async (ctx) => {
  ctx.respond = false
  const { req, res } = ctx
  const headers = { ...req.headers }
  delete headers.host
  delete headers.connection
  delete headers.authorization
  try {
    const r = await pool.request({ path: req.url, method: req.method, headers })
    const out = {}
    for (const k in r.headers) if (k !== 'connection' && k !== 'keep-alive') out[k] = r.headers[k]
    res.writeHead(r.statusCode, out)
    r.body.pipe(res)
  } catch {
    res.writeHead(502)
    res.end()
  }
})
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
