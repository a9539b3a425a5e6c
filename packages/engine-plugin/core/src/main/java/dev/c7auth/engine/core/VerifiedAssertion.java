package dev.c7auth.engine.core;

import java.util.List;

/**
 * The identity an accepted assertion carries. The lists are never null: an engine-rest filter that
 * receives non-null groups and tenants uses them as given and does not query its identity service.
 *
 * @param userId the engine user id (claim {@code sub} by default)
 * @param groups group ids, possibly empty, never null
 * @param tenants tenant ids, possibly empty, never null
 * @param jti the assertion id, for debug logging
 */
public record VerifiedAssertion(String userId, List<String> groups, List<String> tenants, String jti) {
  public VerifiedAssertion {
    groups = List.copyOf(groups);
    tenants = List.copyOf(tenants);
  }
}
