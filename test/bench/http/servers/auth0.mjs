// auth0's express-oauth2-jwt-bearer + http-proxy-middleware, given a keep-alive agent (its best case).
import { Agent } from 'node:http'
import express from 'express'
import { auth } from 'express-oauth2-jwt-bearer'
import { createProxyMiddleware } from 'http-proxy-middleware'

const { BENCH_UPSTREAM, BENCH_ISSUER, BENCH_AUDIENCE } = process.env
const app = express()
app.disable('x-powered-by')
app.use(
  '/engine-rest',
  auth({ issuerBaseURL: BENCH_ISSUER, audience: BENCH_AUDIENCE, tokenSigningAlg: 'RS256' }),
  createProxyMiddleware({
    target: `${BENCH_UPSTREAM}/engine-rest`,
    changeOrigin: true,
    agent: new Agent({ keepAlive: true, maxSockets: 128 }),
  }),
)
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
