/**
 * `GET /event-subscription` (and `/count`): the message subscriptions of waiting receive tasks and
 * of the latest definitions' message start events, with the engine's filters, its tenant criteria
 * (`includeEventSubscriptionsWithoutTenantId`) and the transparent tenant check.
 */
import { eventSubscriptionDto } from '../dto.js'
import type { EventSubscriptionRecord } from '../engine-state.js'
import type { CriteriaSpec } from '../query-criteria.js'
import {
  applySorting,
  criteriaFromQuery,
  matches,
  matchesTenantCriteria,
  matchingRows,
  paginate,
  pagination,
  sortingFromQuery,
  tenantCriteriaOf,
} from '../query-criteria.js'
import type { EngineRouter, EngineServices, HandlerContext } from './route-types.js'
import { json } from './route-types.js'

const EVENT_SUBSCRIPTION_QUERY: CriteriaSpec = {
  eventSubscriptionId: 'string',
  eventName: 'string',
  eventType: 'string',
  executionId: 'string',
  processInstanceId: 'string',
  activityId: 'string',
  tenantIdIn: 'list',
  withoutTenantId: 'bool',
  includeEventSubscriptionsWithoutTenantId: 'bool',
}

export function registerEventSubscriptionRoutes(
  router: EngineRouter,
  engine: EngineServices,
): void {
  const { state } = engine

  const query = (c: HandlerContext): EventSubscriptionRecord[] => {
    const q = criteriaFromQuery(EVENT_SUBSCRIPTION_QUERY, c.query)
    const sorting = sortingFromQuery(c.query, ['created', 'tenantId'])
    const tenants = tenantCriteriaOf(q, 'includeEventSubscriptionsWithoutTenantId')
    const rows = matchingRows(
      state.eventSubscriptions.values(),
      c.auth,
      q,
      [],
      (e) =>
        matches(q, 'eventSubscriptionId', e.id) &&
        matches(q, 'eventName', e.eventName) &&
        matches(q, 'eventType', e.eventType) &&
        matches(q, 'executionId', e.executionId) &&
        matches(q, 'processInstanceId', e.processInstanceId) &&
        matches(q, 'activityId', e.activityId) &&
        matchesTenantCriteria(e.tenantId, tenants),
    )
    return applySorting(rows, sorting, (e, by) => (by === 'created' ? e.createdDate : e.tenantId))
  }

  router.add('GET', '/event-subscription', (c) =>
    json(paginate(query(c), pagination(c.query)).map(eventSubscriptionDto)),
  )
  router.add('GET', '/event-subscription/count', (c) => json({ count: query(c).length }))
}
