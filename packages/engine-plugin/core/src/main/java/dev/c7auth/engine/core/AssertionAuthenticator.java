package dev.c7auth.engine.core;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP half of the plugin, free of servlet and engine types so Camunda 7 and Operaton share it:
 * takes the request's {@code Authorization} header values, answers with the identity or a refusal,
 * and renders refusals as a Camunda-shaped JSON body plus an RFC 6750 challenge.
 */
public final class AssertionAuthenticator {
  private static final Logger LOG = Logger.getLogger(AssertionAuthenticator.class.getName());

  /** Content type of refusal bodies. */
  public static final String JSON = "application/json";

  private final AssertionVerifier verifier;

  private AssertionAuthenticator(AssertionVerifier verifier) {
    this.verifier = verifier;
  }

  /** An authenticator around a ready verifier. */
  public static AssertionAuthenticator of(AssertionVerifier verifier) {
    return new AssertionAuthenticator(verifier);
  }

  /**
   * Loads the configuration (init-params, system properties, environment). When it is missing or
   * invalid the error is logged once and every request is refused with
   * {@code C7AUTH_PLUGIN_NOT_CONFIGURED}: the engine stays up but lets nobody in.
   */
  public static AssertionAuthenticator fromSettings(Function<String, String> initParams) {
    return fromSettings(initParams, System::getProperty, System.getenv());
  }

  static AssertionAuthenticator fromSettings(
      Function<String, String> initParams, Function<String, String> sysProps, Map<String, String> env) {
    try {
      AssertionAuthenticator a = new AssertionAuthenticator(new AssertionVerifier(VerifierConfig.load(initParams, sysProps, env)));
      LOG.info(
          "c7auth engine plugin: trusting assertions from issuer "
              + a.verifier.config().issuer()
              + " for audience "
              + a.verifier.config().audience());
      return a;
    } catch (PluginConfigException e) {
      LOG.severe(e.getMessage() + " -- every engine-rest request is refused until this is fixed");
      return new AssertionAuthenticator(null);
    }
  }

  /**
   * True when this request should go to the engine's HTTP Basic provider: Basic fallback is on and
   * the request has exactly one {@code Authorization: Basic …} header.
   */
  public boolean isBasicFallback(List<String> authorizationHeaders) {
    return verifier != null
        && verifier.config().basicFallback()
        && authorizationHeaders != null
        && authorizationHeaders.size() == 1
        && authorizationHeaders.get(0) != null
        && authorizationHeaders.get(0).regionMatches(true, 0, "Basic ", 0, 6);
  }

  /** True when a valid configuration was loaded. */
  public boolean configured() {
    return verifier != null;
  }

  /** The outcome of one request: exactly one of {@code assertion} and {@code refusal} is set. */
  public record Outcome(VerifiedAssertion assertion, Refusal refusal) {}

  /**
   * @param authorizationHeaders every {@code Authorization} header value of the request, in order
   */
  public Outcome authenticate(List<String> authorizationHeaders) {
    if (verifier == null) return refused(Refusal.NOT_CONFIGURED, null);
    if (authorizationHeaders == null || authorizationHeaders.size() != 1) return refused(Refusal.MISSING, null);
    String value = authorizationHeaders.get(0);
    if (value == null) return refused(Refusal.MISSING, null);
    if (value.length() > verifier.config().maxTokenBytes() + 16) return refused(Refusal.OVERSIZED, null);
    if (value.length() < 8 || !value.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
      return refused(Refusal.MISSING, null);
    }
    String token = value.substring(7).trim();
    try {
      return new Outcome(verifier.verify(token), null);
    } catch (AssertionRefusedException e) {
      return refused(e.refusal(), e.getCause());
    } catch (RuntimeException e) {
      // A library bug must not become a 500 that might leak details; refuse and log the class only.
      LOG.warning("c7auth engine plugin: unexpected " + e.getClass().getName() + " while verifying; refused");
      return refused(Refusal.MALFORMED, null);
    }
  }

  private static Outcome refused(Refusal r, Throwable cause) {
    if (r == Refusal.KEYS_UNAVAILABLE) {
      LOG.warning("c7auth engine plugin: the gateway JWKS cannot be fetched: " + (cause == null ? "" : cause.getClass().getSimpleName()));
    } else if (LOG.isLoggable(Level.FINE)) {
      LOG.fine("c7auth engine plugin: assertion refused: " + r.name());
    }
    return new Outcome(null, r);
  }

  /** The 401 body: {@code {"type":"AuthenticationException","message":"…","code":"C7AUTH_…"}}. */
  public static String errorBody(Refusal r) {
    return "{\"type\":\"AuthenticationException\",\"message\":\""
        + r.message()
        + "\",\"code\":\""
        + r.code()
        + "\"}";
  }

  /** The {@code WWW-Authenticate} value for a refusal (RFC 6750 §3). */
  public static String challenge(Refusal r) {
    if (r == Refusal.BASIC_REFUSED) return "Basic realm=\"c7auth-engine\"";
    if (r == Refusal.MISSING || r == Refusal.NOT_CONFIGURED || r == Refusal.KEYS_UNAVAILABLE) {
      return "Bearer realm=\"c7auth-engine\"";
    }
    return "Bearer realm=\"c7auth-engine\", error=\"invalid_token\"";
  }
}
