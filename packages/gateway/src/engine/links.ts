/**
 * Rewrites absolute `links[].href` that point into engine-rest (`…<engineBasePath>/…`, on whatever
 * host the engine saw) to the gateway's public base. Returns undefined when nothing changed, so the
 * engine's bytes can be passed on untouched.
 */
export function rewriteLinks(
  body: unknown,
  engineBasePath: string,
  publicBase: string,
): unknown | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const links = (body as { links?: unknown }).links
  if (!Array.isArray(links)) return undefined
  let changed = false
  const out = links.map((link: unknown) => {
    if (typeof link !== 'object' || link === null) return link
    const href = (link as { href?: unknown }).href
    if (typeof href !== 'string' || !/^https?:\/\//i.test(href)) return link
    let url: URL
    try {
      url = new URL(href)
    } catch {
      return link
    }
    const prefix = engineBasePath === '' ? '' : engineBasePath
    if (prefix !== '' && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      return link
    }
    changed = true
    return { ...link, href: publicBase + url.pathname.slice(prefix.length) + url.search }
  })
  return changed ? { ...body, links: out } : undefined
}
