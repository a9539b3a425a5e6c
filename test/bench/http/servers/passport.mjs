// What the card's packages give a user by hand: express + passport + passport-jwt (keys from
// jwks-rsa) + http-proxy-middleware with its default agent.
import express from 'express'
import passport from 'passport'
import { ExtractJwt, Strategy } from 'passport-jwt'
import jwksRsa from 'jwks-rsa'
import { createProxyMiddleware } from 'http-proxy-middleware'

const { BENCH_UPSTREAM, BENCH_ISSUER, BENCH_AUDIENCE } = process.env
passport.use(
  new Strategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: jwksRsa.passportJwtSecret({
        jwksUri: `${BENCH_ISSUER}/jwks`,
        cache: true,
        rateLimit: true,
      }),
      issuer: BENCH_ISSUER,
      audience: BENCH_AUDIENCE,
      algorithms: ['RS256', 'ES256'],
    },
    (payload, done) => done(null, payload),
  ),
)
const app = express()
app.disable('x-powered-by')
app.use(passport.initialize())
app.use(
  '/engine-rest',
  passport.authenticate('jwt', { session: false }),
  createProxyMiddleware({ target: `${BENCH_UPSTREAM}/engine-rest`, changeOrigin: true }),
)
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
server.keepAliveTimeout = 65_000
