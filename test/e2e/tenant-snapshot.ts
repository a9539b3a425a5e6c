import type { Harness } from './gateway-engine-harness.js'
import { engineAdmin } from './engines.js'

/**
 * Tenant A's state (and the shared definitions) as the engine admin reads it over REST: the same
 * on the simulator and the real engines. Lists are sorted so that only a change of data differs.
 * Suites compare it before and after tenant B's requests: nothing of A may have changed.
 */
export async function snapshotOfA(h: Harness): Promise<string> {
  const lists = await Promise.all(
    [
      '/task?tenantIdIn=tenantA',
      '/external-task?tenantIdIn=tenantA',
      '/process-instance?tenantIdIn=tenantA',
      '/process-definition?tenantIdIn=tenantA',
      '/process-definition?withoutTenantId=true',
      '/deployment?tenantIdIn=tenantA',
      '/job?tenantIdIn=tenantA',
      '/job-definition?tenantIdIn=tenantA',
      '/incident?tenantIdIn=tenantA',
      '/variable-instance?tenantIdIn=tenantA&deserializeValues=false',
      '/history/process-instance?tenantIdIn=tenantA',
      '/history/activity-instance?tenantIdIn=tenantA',
      '/history/variable-instance?tenantIdIn=tenantA&deserializeValues=false',
      '/history/detail?tenantIdIn=tenantA&deserializeValues=false',
      '/history/job-log?tenantIdIn=tenantA',
      '/history/external-task-log?tenantIdIn=tenantA',
      '/history/decision-instance?tenantIdIn=tenantA',
      '/event-subscription?tenantIdIn=tenantA',
      '/history/identity-link-log?tenantIdIn=tenantA',
    ].map((path) => engineAdmin<unknown[]>(h.target, 'GET', path)),
  )
  // variables per instance, as the instance resource renders them
  for (const pi of lists[2] as { id: string }[]) {
    lists.push([await engineAdmin(h.target, 'GET', `/process-instance/${pi.id}/variables`)])
  }
  return JSON.stringify(lists.map((l) => l.map((x) => JSON.stringify(x)).sort()))
}
