package dev.c7auth.engine.camunda7;

import dev.c7auth.engine.core.AssertionAuthenticator;
import dev.c7auth.engine.core.Refusal;
import dev.c7auth.engine.core.VerifiedAssertion;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.rest.security.auth.AuthenticationProvider;
import org.camunda.bpm.engine.rest.security.auth.AuthenticationResult;
import org.camunda.bpm.engine.rest.security.auth.impl.HttpBasicAuthenticationProvider;

/**
 * Camunda 7 engine-rest {@link AuthenticationProvider} that trusts a short-lived assertion signed by
 * the c7auth gateway ({@code Authorization: Bearer <JWS>}).
 *
 * <p>The result carries the user id, groups and tenant ids from the assertion, never null lists, so
 * {@code ProcessEngineAuthenticationFilter} passes them to {@code IdentityService.setAuthentication}
 * as given and does not query the identity service: nothing is read from or written to the engine's
 * user, group or membership tables.
 *
 * <p>With {@code C7AUTH_PLUGIN_BASIC_FALLBACK=true}, a request with {@code Authorization: Basic} is
 * handed to the engine's own {@link HttpBasicAuthenticationProvider} instead (engine users with
 * passwords, such as the gateway's admin account); without it, Basic is refused.
 *
 * <p>Register it as the filter's {@code authentication-provider} init-param (configuration from
 * system properties / environment), or use {@link AssertionAuthenticationFilter} to pass the
 * settings as init-params. Every refusal is a 401 with a JSON body, never a 500.
 */
public class AssertionAuthenticationProvider implements AuthenticationProvider {
  /** The filter calls extract, then (on refusal, same thread) augment: the reason travels here. */
  private static final ThreadLocal<Refusal> LAST_REFUSAL = new ThreadLocal<>();

  private final AssertionAuthenticator authenticator;
  private final HttpBasicAuthenticationProvider basic = new HttpBasicAuthenticationProvider();

  /** Configuration from system properties and environment ({@code C7AUTH_PLUGIN_*}). */
  public AssertionAuthenticationProvider() {
    this(AssertionAuthenticator.fromSettings(name -> null));
  }

  /** With a ready authenticator ({@link AssertionAuthenticationFilter}, tests). */
  public AssertionAuthenticationProvider(AssertionAuthenticator authenticator) {
    this.authenticator = authenticator;
  }

  @Override
  public AuthenticationResult extractAuthenticatedUser(HttpServletRequest request, ProcessEngine engine) {
    LAST_REFUSAL.remove();
    Enumeration<String> values = request.getHeaders("Authorization");
    List<String> headers = values == null ? List.of() : Collections.list(values);
    if (authenticator.isBasicFallback(headers)) {
      // Real engine users (the gateway's admin account): groups and tenants come from the
      // identity service as usual, because this result leaves them null.
      AuthenticationResult basicResult = basic.extractAuthenticatedUser(request, engine);
      if (!basicResult.isAuthenticated()) LAST_REFUSAL.set(Refusal.BASIC_REFUSED);
      return basicResult;
    }
    AssertionAuthenticator.Outcome outcome = authenticator.authenticate(headers);
    VerifiedAssertion a = outcome.assertion();
    if (a == null) {
      LAST_REFUSAL.set(outcome.refusal());
      return AuthenticationResult.unsuccessful();
    }
    AuthenticationResult result = AuthenticationResult.successful(a.userId());
    result.setGroups(a.groups());
    result.setTenants(a.tenants());
    return result;
  }

  @Override
  public void augmentResponseByAuthenticationChallenge(HttpServletResponse response, ProcessEngine engine) {
    Refusal refusal = LAST_REFUSAL.get();
    LAST_REFUSAL.remove();
    if (refusal == null) refusal = Refusal.MISSING;
    response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
    response.setHeader("WWW-Authenticate", AssertionAuthenticator.challenge(refusal));
    response.setHeader("Cache-Control", "no-store");
    response.setContentType(AssertionAuthenticator.JSON);
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    try {
      response.getWriter().write(AssertionAuthenticator.errorBody(refusal));
      response.getWriter().flush();
    } catch (IOException | IllegalStateException e) {
      // The status and challenge are set; a client that went away does not need the body.
    }
  }
}
