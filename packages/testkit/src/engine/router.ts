/** A tiny path-template router (`/task/{id}/complete`) that prefers literal segments. */

export interface RouteMatch<H> {
  readonly handler: H
  readonly template: string
  readonly params: Record<string, string>
}

interface Route<H> {
  readonly method: string
  readonly template: string
  readonly segments: readonly string[]
  readonly literalCount: number
  readonly handler: H
}

/** Splits a decoded path into segments; `/a/b/` and `/a/b` are the same path. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1))
}

export class Router<H> {
  readonly #routes: Route<H>[] = []

  add(method: string, template: string, handler: H): this {
    const segments = splitPath(template)
    const literalCount = segments.filter((s) => !s.startsWith('{')).length
    this.#routes.push({ method, template, segments, literalCount, handler })
    return this
  }

  /**
   * Finds the route for a method and already-decoded path segments. `methodMismatch` tells a
   * known path with another method (405) apart from an unknown path (404).
   */
  match(
    method: string,
    segments: readonly string[],
  ): { match: RouteMatch<H> | null; methodMismatch: boolean } {
    let best: { route: Route<H>; params: Record<string, string> } | null = null
    let pathKnown = false
    for (const route of this.#routes) {
      if (route.segments.length !== segments.length) continue
      const params: Record<string, string> = {}
      let ok = true
      for (let i = 0; i < segments.length; i++) {
        const t = route.segments[i] as string
        const s = segments[i] as string
        if (t.startsWith('{')) {
          if (s === '') {
            ok = false
            break
          }
          params[t.slice(1, -1)] = s
        } else if (t !== s) {
          ok = false
          break
        }
      }
      if (!ok) continue
      pathKnown = true
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue
      if (best === null || route.literalCount > best.route.literalCount) best = { route, params }
    }
    if (best === null) return { match: null, methodMismatch: pathKnown }
    return {
      match: { handler: best.route.handler, template: best.route.template, params: best.params },
      methodMismatch: false,
    }
  }
}
