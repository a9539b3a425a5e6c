// Runs the workspace packages as compiled JavaScript: `@c7auth/*` resolve to each package's
// `src/*.ts` in the workspace, and this hook points them at the `dist/*.js` that `pnpm build`
// wrote (what the published packages export). Resolution only: nothing here runs per request.
import { register } from 'node:module'

register(
  'data:text/javascript,' +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  const m = /^(file:.*\\/packages\\/[^/]+\\/)src\\/(.*)\\.ts$/.exec(r.url)
  return m ? { ...r, url: m[1] + 'dist/' + m[2] + '.js' } : r
}`),
)
