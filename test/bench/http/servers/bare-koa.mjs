// The framework's floor: the bare proxy (./bare.mjs) as Koa middleware, no authentication.
import Koa from 'koa'
import { bareForward } from './bare-forward.mjs'

const forward = bareForward(process.env.BENCH_UPSTREAM)
const app = new Koa()
app.use((ctx) => {
  ctx.respond = false
  forward(ctx.req, ctx.res, ctx.req.url)
})
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
