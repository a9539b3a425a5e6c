// The framework's floor: the bare proxy (./bare.mjs) mounted in Express, no authentication.
import express from 'express'
import { bareForward } from './bare-forward.mjs'

const forward = bareForward(process.env.BENCH_UPSTREAM)
const app = express()
app.disable('x-powered-by')
app.use('/engine-rest', (req, res) => forward(req, res, req.originalUrl))
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
